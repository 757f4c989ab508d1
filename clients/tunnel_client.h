// tunnel-manager's API for the orchestrator and migctl.
#ifndef MIGRATEKIT_CLIENTS_TUNNEL_CLIENT_H_
#define MIGRATEKIT_CLIENTS_TUNNEL_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "clients/canceller.h"
#include "clients/rpc_retry.h"
#include "proto/tunnel/v1/tunnel.grpc.pb.h"

namespace migratekit::clients {

class TunnelClient {
 public:
  explicit TunnelClient(const std::string& address, CallOptions options = {});

  absl::StatusOr<tunnel::v1::TunnelStatus> GetStatus();
  // Not retried: a second request would cut the session a second time.
  absl::Status Reconnect(const std::string& reason);
  // Calls `on_change` with the status now and at every change until it
  // returns false, the server ends the stream, or `canceller` fires.
  absl::Status Watch(
      const std::function<bool(const tunnel::v1::TunnelStatus&)>& on_change,
      Canceller* canceller = nullptr);

 private:
  std::string what(const char* call) const;

  const std::string address_;
  const CallOptions options_;
  std::unique_ptr<tunnel::v1::TunnelService::Stub> stub_;
};

}  // namespace migratekit::clients

#endif  // MIGRATEKIT_CLIENTS_TUNNEL_CLIENT_H_
