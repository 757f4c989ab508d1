#include "services/common/grpc_status.h"

#include <gtest/gtest.h>

namespace migratekit {
namespace {

TEST(GrpcStatus, CodeAndMessageSurviveTheRoundTrip) {
  absl::Status original = absl::FailedPreconditionError("export busy");
  grpc::Status wire = ToGrpcStatus(original);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(wire.error_message(), "export busy");
  EXPECT_EQ(FromGrpcStatus(wire), original);
}

TEST(GrpcStatus, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace migratekit
