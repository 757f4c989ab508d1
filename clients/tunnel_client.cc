#include "clients/tunnel_client.h"

#include "absl/strings/str_cat.h"
#include "services/common/grpc_status.h"

namespace migratekit::clients {

using tunnel::v1::TunnelStatus;

TunnelClient::TunnelClient(const std::string& address, CallOptions options)
    : address_(address),
      options_(options),
      stub_(tunnel::v1::TunnelService::NewStub(MakeChannel(address))) {}

std::string TunnelClient::what(const char* call) const {
  return absl::StrCat("tunnel-manager ", address_, ": ", call);
}

absl::StatusOr<TunnelStatus> TunnelClient::GetStatus() {
  tunnel::v1::GetStatusRequest request;
  TunnelStatus response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("GetStatus"),
                    [&](grpc::ClientContext* context) {
                      return stub_->GetStatus(context, request, &response);
                    });
  if (!status.ok()) return status;
  return response;
}

absl::Status TunnelClient::Reconnect(const std::string& reason) {
  tunnel::v1::ReconnectRequest request;
  request.set_reason(reason);
  tunnel::v1::ReconnectResponse response;
  return CallWithRetry(options_, /*idempotent=*/false, what("Reconnect"),
                       [&](grpc::ClientContext* context) {
                         return stub_->Reconnect(context, request, &response);
                       });
}

absl::Status TunnelClient::Watch(
    const std::function<bool(const TunnelStatus&)>& on_change,
    Canceller* canceller) {
  grpc::ClientContext context;
  if (canceller != nullptr) canceller->Attach(&context);
  tunnel::v1::WatchStatusRequest request;
  std::unique_ptr<grpc::ClientReader<TunnelStatus>> reader =
      stub_->WatchStatus(&context, request);
  TunnelStatus status;
  bool stopped = false;
  while (reader->Read(&status)) {
    if (!on_change(status)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  absl::Status finished = FromGrpcStatus(reader->Finish());
  if (canceller != nullptr) canceller->Attach(nullptr);
  if (stopped || (canceller != nullptr && canceller->cancelled())) {
    return absl::OkStatus();
  }
  if (finished.ok()) return finished;
  return absl::Status(finished.code(), absl::StrCat(what("WatchStatus"), ": ",
                                                    finished.message()));
}

}  // namespace migratekit::clients
