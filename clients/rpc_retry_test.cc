#include "clients/rpc_retry.h"

#include <gtest/gtest.h>

namespace migratekit::clients {
namespace {

CallOptions FastOptions() {
  CallOptions options;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(4);
  options.retry_budget = absl::Seconds(5);
  return options;
}

TEST(BackoffFor, DoublesUpToTheCapWithJitterBelow) {
  CallOptions options;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Milliseconds(400);
  for (int i = 0; i < 20; ++i) {
    absl::Duration first = BackoffFor(options, 1);
    EXPECT_LE(first, absl::Milliseconds(100));
    EXPECT_GE(first, absl::Milliseconds(80));
    absl::Duration tenth = BackoffFor(options, 10);
    EXPECT_LE(tenth, absl::Milliseconds(400));
    EXPECT_GE(tenth, absl::Milliseconds(320));
  }
}

TEST(CallWithRetry, RetriesUnavailableWhenIdempotent) {
  int attempts = 0;
  absl::Status status = CallWithRetry(
      FastOptions(), /*idempotent=*/true, "test", [&](grpc::ClientContext*) {
        return ++attempts < 3
                   ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")
                   : grpc::Status::OK;
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 3);
}

TEST(CallWithRetry, DoesNotRetryOtherErrorsOrUnsafeCalls) {
  int attempts = 0;
  absl::Status status = CallWithRetry(
      FastOptions(), /*idempotent=*/true, "svc: Call",
      [&](grpc::ClientContext*) {
        ++attempts;
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad id");
      });
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "svc: Call: bad id");

  attempts = 0;
  status = CallWithRetry(
      FastOptions(), /*idempotent=*/false, "test", [&](grpc::ClientContext*) {
        ++attempts;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
      });
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
}

TEST(CallWithRetry, GivesUpWhenTheBudgetIsSpent) {
  CallOptions options = FastOptions();
  options.retry_budget = absl::Milliseconds(50);
  int attempts = 0;
  absl::Status status = CallWithRetry(
      options, /*idempotent=*/true, "test", [&](grpc::ClientContext*) {
        ++attempts;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
      });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_GT(attempts, 1);
}

}  // namespace
}  // namespace migratekit::clients
