#include "services/tunnel/tunnel_service.h"

namespace migratekit::tunnel {

grpc::Status TunnelServiceImpl::GetStatus(grpc::ServerContext*,
                                          const v1::GetStatusRequest*,
                                          v1::TunnelStatus* response) {
  *response = status_->Snapshot();
  return grpc::Status::OK;
}

grpc::Status TunnelServiceImpl::WatchStatus(
    grpc::ServerContext* context, const v1::WatchStatusRequest*,
    grpc::ServerWriter<v1::TunnelStatus>* writer) {
  uint64_t version = 0;
  status_->WaitForChange(&version, absl::Now());
  if (!writer->Write(status_->Snapshot())) return grpc::Status::OK;
  while (!context->IsCancelled() && !shutting_down_) {
    if (!status_->WaitForChange(&version, absl::Now() + absl::Seconds(1))) {
      continue;
    }
    if (shutting_down_) break;
    if (!writer->Write(status_->Snapshot())) break;
  }
  return grpc::Status::OK;
}

grpc::Status TunnelServiceImpl::Reconnect(grpc::ServerContext*,
                                          const v1::ReconnectRequest* request,
                                          v1::ReconnectResponse*) {
  reconnect_(request->reason());
  return grpc::Status::OK;
}

void TunnelServiceImpl::Shutdown() {
  shutting_down_ = true;
  status_->WakeAll();
}

}  // namespace migratekit::tunnel
