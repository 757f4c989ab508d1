// The gRPC face of tunnel-manager: migratekit.tunnel.v1.TunnelService,
// answering from the TunnelStatusStore the event loop keeps up to date.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_SERVICE_H_
#define MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>

#include "proto/tunnel/v1/tunnel.grpc.pb.h"
#include "services/tunnel/tunnel_status.h"

namespace migratekit::tunnel {

class TunnelServiceImpl final : public v1::TunnelService::Service {
 public:
  // `reconnect` asks the tunnel for a new session (TunnelLoop::Reconnect).
  TunnelServiceImpl(TunnelStatusStore* status,
                    std::function<void(const std::string&)> reconnect)
      : status_(status), reconnect_(std::move(reconnect)) {}

  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetStatusRequest* request,
                         v1::TunnelStatus* response) override;
  grpc::Status WatchStatus(
      grpc::ServerContext* context, const v1::WatchStatusRequest* request,
      grpc::ServerWriter<v1::TunnelStatus>* writer) override;
  grpc::Status Reconnect(grpc::ServerContext* context,
                         const v1::ReconnectRequest* request,
                         v1::ReconnectResponse* response) override;

  // Ends every WatchStatus stream (at shutdown).
  void Shutdown();

 private:
  TunnelStatusStore* status_;
  std::function<void(const std::string&)> reconnect_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_SERVICE_H_
