#include "services/tunnel/tunnel_service.h"

namespace migratekit::tunnel {
namespace {

grpc::Status NotBuilt(const char* call) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      std::string(call) + ": the SSH session is not implemented yet");
}

}  // namespace

grpc::Status TunnelServiceImpl::GetStatus(grpc::ServerContext*,
                                          const v1::GetStatusRequest*,
                                          v1::TunnelStatus*) {
  return NotBuilt("GetStatus");
}

grpc::Status TunnelServiceImpl::WatchStatus(
    grpc::ServerContext*, const v1::WatchStatusRequest*,
    grpc::ServerWriter<v1::TunnelStatus>*) {
  return NotBuilt("WatchStatus");
}

grpc::Status TunnelServiceImpl::Reconnect(grpc::ServerContext*,
                                          const v1::ReconnectRequest*,
                                          v1::ReconnectResponse*) {
  return NotBuilt("Reconnect");
}

}  // namespace migratekit::tunnel
