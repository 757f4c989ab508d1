// The gRPC face of tunnel-manager: migratekit.tunnel.v1.TunnelService.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_SERVICE_H_
#define MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_SERVICE_H_

#include "proto/tunnel/v1/tunnel.grpc.pb.h"

namespace migratekit::tunnel {

// TODO: the SSH session is not built yet; every call answers UNIMPLEMENTED
// and the service's health stays NOT_SERVING.
class TunnelServiceImpl final : public v1::TunnelService::Service {
 public:
  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetStatusRequest* request,
                         v1::TunnelStatus* response) override;
  grpc::Status WatchStatus(
      grpc::ServerContext* context, const v1::WatchStatusRequest* request,
      grpc::ServerWriter<v1::TunnelStatus>* writer) override;
  grpc::Status Reconnect(grpc::ServerContext* context,
                         const v1::ReconnectRequest* request,
                         v1::ReconnectResponse* response) override;
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_SERVICE_H_
