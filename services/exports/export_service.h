// The gRPC face of export-manager: migratekit.exports.v1.ExportService.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_SERVICE_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_SERVICE_H_

#include "proto/exports/v1/exports.grpc.pb.h"

namespace migratekit::exports {

// TODO: the export lifecycle is not built yet; every call answers
// UNIMPLEMENTED and the service's health stays NOT_SERVING.
class ExportServiceImpl final : public v1::ExportService::Service {
 public:
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
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_SERVICE_H_
