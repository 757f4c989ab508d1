#include "clients/export_client.h"

#include "absl/strings/str_cat.h"

namespace migratekit::clients {

using exports::v1::Export;

ExportClient::ExportClient(const std::string& address, CallOptions options)
    : address_(address),
      options_(options),
      stub_(exports::v1::ExportService::NewStub(MakeChannel(address))) {}

std::string ExportClient::what(const char* call) const {
  return absl::StrCat("export-manager ", address_, ": ", call);
}

absl::StatusOr<Export> ExportClient::Create(const std::string& volume_id,
                                            const std::string& device_path,
                                            bool read_only) {
  exports::v1::CreateExportRequest request;
  request.set_volume_id(volume_id);
  request.set_device_path(device_path);
  request.set_read_only(read_only);
  Export response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("CreateExport"),
                    [&](grpc::ClientContext* context) {
                      return stub_->CreateExport(context, request, &response);
                    });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<Export> ExportClient::Get(const std::string& volume_id) {
  exports::v1::GetExportRequest request;
  request.set_volume_id(volume_id);
  Export response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("GetExport"),
                    [&](grpc::ClientContext* context) {
                      return stub_->GetExport(context, request, &response);
                    });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<Export>> ExportClient::List() {
  exports::v1::ListExportsRequest request;
  exports::v1::ListExportsResponse response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("ListExports"),
                    [&](grpc::ClientContext* context) {
                      return stub_->ListExports(context, request, &response);
                    });
  if (!status.ok()) return status;
  return std::vector<Export>(response.exports().begin(),
                             response.exports().end());
}

absl::Status ExportClient::Delete(const std::string& volume_id) {
  exports::v1::DeleteExportRequest request;
  request.set_volume_id(volume_id);
  exports::v1::DeleteExportResponse response;
  int attempts = 0;
  absl::Status status = CallWithRetry(
      options_, /*idempotent=*/true, what("DeleteExport"),
      [&](grpc::ClientContext* context) {
        ++attempts;
        grpc::Status answer = stub_->DeleteExport(context, request, &response);
        if (attempts > 1 &&
            answer.error_code() == grpc::StatusCode::NOT_FOUND) {
          return grpc::Status::OK;
        }
        return answer;
      });
  return status;
}

}  // namespace migratekit::clients
