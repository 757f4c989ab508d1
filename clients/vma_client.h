// vma-api's API for the orchestrator and migctl. From the OMA it is reached
// through the tunnel's reverse forward, 127.0.0.1:9081, so UNAVAILABLE is
// expected now and then (the tunnel being rebuilt): the calls that are safe
// to repeat are retried, and a watch re-opens its stream.
#ifndef MIGRATEKIT_CLIENTS_VMA_CLIENT_H_
#define MIGRATEKIT_CLIENTS_VMA_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/canceller.h"
#include "clients/rpc_retry.h"
#include "proto/vma/v1/vma.grpc.pb.h"

namespace migratekit::clients {

class VmaClient {
 public:
  explicit VmaClient(const std::string& address, CallOptions options = {});

  // Starts a job. A request without a job_id gets a random one here, so that
  // a retry after a lost answer finds the job it already started instead of
  // starting a second one.
  absl::StatusOr<vma::v1::Job> Start(vma::v1::StartReplicationRequest request);
  absl::StatusOr<vma::v1::Job> Get(const std::string& job_id);
  absl::StatusOr<std::vector<vma::v1::Job>> List();
  absl::StatusOr<vma::v1::Job> Cancel(const std::string& job_id);

  // Calls `on_update` for every update of the job until it ends, returns
  // false, or `canceller` fires (then CANCELLED). A broken stream is opened
  // again while the retry budget lasts since the last update.
  absl::Status Watch(const std::string& job_id,
                     const std::function<bool(const vma::v1::Job&)>& on_update,
                     Canceller* canceller = nullptr);

 private:
  std::string what(const char* call) const;

  const std::string address_;
  const CallOptions options_;
  std::unique_ptr<vma::v1::VmaService::Stub> stub_;
};

// True once a job can change no more: DONE, FAILED or CANCELLED.
bool JobEnded(const vma::v1::Job& job);

}  // namespace migratekit::clients

#endif  // MIGRATEKIT_CLIENTS_VMA_CLIENT_H_
