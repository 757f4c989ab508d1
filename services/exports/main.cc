// export-manager: the OMA's owner of the NBD exports of one nbd-server.
#include "absl/flags/flag.h"
#include "services/common/flag_config.h"
#include "services/common/service_runtime.h"
#include "services/exports/export_service.h"
#include "services/exports/exports_config.pb.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:8083",
          "host:port for the ExportService gRPC API.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9103",
          "host:port for Prometheus metrics at /metrics.");

int main(int argc, char** argv) {
  migratekit::InitService(
      argc, argv,
      "Creates and removes the OMA's NBD exports, one per migrated volume.\n"
      "Usage: export-manager [flags]",
      migratekit::exports::config::ExportManagerConfig());

  migratekit::ServiceRuntime runtime({
      .name = "export-manager",
      .grpc_listen = absl::GetFlag(FLAGS_grpc_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
  });
  migratekit::exports::ExportServiceImpl service;
  runtime.AddService(&service, "migratekit.exports.v1.ExportService");
  return runtime.Run();
}
