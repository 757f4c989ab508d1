#include "services/exports/export_service.h"

namespace migratekit::exports {
namespace {

grpc::Status NotBuilt(const char* call) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      std::string(call) + ": NBD export management is not implemented yet");
}

}  // namespace

grpc::Status ExportServiceImpl::CreateExport(grpc::ServerContext*,
                                             const v1::CreateExportRequest*,
                                             v1::Export*) {
  return NotBuilt("CreateExport");
}

grpc::Status ExportServiceImpl::GetExport(grpc::ServerContext*,
                                          const v1::GetExportRequest*,
                                          v1::Export*) {
  return NotBuilt("GetExport");
}

grpc::Status ExportServiceImpl::ListExports(grpc::ServerContext*,
                                            const v1::ListExportsRequest*,
                                            v1::ListExportsResponse*) {
  return NotBuilt("ListExports");
}

grpc::Status ExportServiceImpl::DeleteExport(grpc::ServerContext*,
                                             const v1::DeleteExportRequest*,
                                             v1::DeleteExportResponse*) {
  return NotBuilt("DeleteExport");
}

}  // namespace migratekit::exports
