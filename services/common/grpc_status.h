// The one place where the two error types meet. Inside, everything returns
// absl::Status; a gRPC handler converts at its edge, and a client converts
// what it receives back.
#ifndef MIGRATEKIT_SERVICES_COMMON_GRPC_STATUS_H_
#define MIGRATEKIT_SERVICES_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace migratekit {

// The codes are the same numbers in both: canonical gRPC codes.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace migratekit

#endif  // MIGRATEKIT_SERVICES_COMMON_GRPC_STATUS_H_
