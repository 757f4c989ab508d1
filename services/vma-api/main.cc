// vma-api: the VMA's replication API, reached from the OMA through the
// tunnel's reverse forward.
#include "absl/flags/flag.h"
#include "services/common/flag_config.h"
#include "services/common/service_runtime.h"
#include "services/vma-api/vma_config.pb.h"
#include "services/vma-api/vma_service.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:8081",
          "host:port for the VmaService gRPC API; the OMA reaches it through "
          "the tunnel's reverse forward.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9102",
          "host:port for Prometheus metrics at /metrics.");

int main(int argc, char** argv) {
  migratekit::InitService(
      argc, argv,
      "Runs replication jobs that copy source disks through the tunnel.\n"
      "Usage: vma-api [flags]",
      migratekit::vma::config::VmaApiConfig());

  migratekit::ServiceRuntime runtime({
      .name = "vma-api",
      .grpc_listen = absl::GetFlag(FLAGS_grpc_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
  });
  migratekit::vma::VmaServiceImpl service;
  runtime.AddService(&service, "migratekit.vma.v1.VmaService");
  return runtime.Run();
}
