#include "services/exports/export_service.h"

#include "services/common/grpc_status.h"

namespace migratekit::exports {

grpc::Status ExportServiceImpl::CreateExport(
    grpc::ServerContext*, const v1::CreateExportRequest* request,
    v1::Export* response) {
  absl::StatusOr<v1::Export> result = registry_->Create(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status ExportServiceImpl::GetExport(grpc::ServerContext*,
                                          const v1::GetExportRequest* request,
                                          v1::Export* response) {
  absl::StatusOr<v1::Export> result = registry_->Get(request->volume_id());
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status ExportServiceImpl::ListExports(grpc::ServerContext*,
                                            const v1::ListExportsRequest*,
                                            v1::ListExportsResponse* response) {
  for (v1::Export& one : registry_->List()) {
    *response->add_exports() = std::move(one);
  }
  return grpc::Status::OK;
}

grpc::Status ExportServiceImpl::DeleteExport(
    grpc::ServerContext*, const v1::DeleteExportRequest* request,
    v1::DeleteExportResponse* response) {
  absl::StatusOr<v1::DeleteExportResponse> result =
      registry_->Delete(request->volume_id());
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace migratekit::exports
