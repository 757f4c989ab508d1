// The export-manager's API for the orchestrator and migctl: one method per
// call, each returning absl::Status(Or) with the server's code and message.
//
//   ExportClient exports("127.0.0.1:8083");
//   absl::StatusOr<Export> made = exports.Create("42", "/dev/vdb", false);
#ifndef MIGRATEKIT_CLIENTS_EXPORT_CLIENT_H_
#define MIGRATEKIT_CLIENTS_EXPORT_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/rpc_retry.h"
#include "proto/exports/v1/exports.grpc.pb.h"

namespace migratekit::clients {

class ExportClient {
 public:
  explicit ExportClient(const std::string& address, CallOptions options = {});

  // Retried on UNAVAILABLE: a create with the same arguments is idempotent.
  absl::StatusOr<exports::v1::Export> Create(const std::string& volume_id,
                                             const std::string& device_path,
                                             bool read_only);
  absl::StatusOr<exports::v1::Export> Get(const std::string& volume_id);
  absl::StatusOr<std::vector<exports::v1::Export>> List();
  // Retried on UNAVAILABLE; NOT_FOUND on a retry means an earlier attempt
  // got through, and counts as done.
  absl::Status Delete(const std::string& volume_id);

 private:
  std::string what(const char* call) const;

  const std::string address_;
  const CallOptions options_;
  std::unique_ptr<exports::v1::ExportService::Stub> stub_;
};

}  // namespace migratekit::clients

#endif  // MIGRATEKIT_CLIENTS_EXPORT_CLIENT_H_
