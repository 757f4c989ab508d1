// The gRPC face of export-manager: migratekit.exports.v1.ExportService,
// a thin edge over ExportRegistry that converts statuses.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_SERVICE_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_SERVICE_H_

#include "proto/exports/v1/exports.grpc.pb.h"
#include "services/exports/export_registry.h"

namespace migratekit::exports {

class ExportServiceImpl final : public v1::ExportService::Service {
 public:
  // `registry` must outlive the service.
  explicit ExportServiceImpl(ExportRegistry* registry) : registry_(registry) {}

  grpc::Status CreateExport(grpc::ServerContext* context,
                            const v1::CreateExportRequest* request,
                            v1::Export* response) override;
  grpc::Status GetExport(grpc::ServerContext* context,
                         const v1::GetExportRequest* request,
                         v1::Export* response) override;
  grpc::Status ListExports(grpc::ServerContext* context,
                           const v1::ListExportsRequest* request,
                           v1::ListExportsResponse* response) override;
  grpc::Status DeleteExport(grpc::ServerContext* context,
                            const v1::DeleteExportRequest* request,
                            v1::DeleteExportResponse* response) override;

 private:
  ExportRegistry* const registry_;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_SERVICE_H_
