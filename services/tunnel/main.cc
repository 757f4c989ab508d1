// tunnel-manager: the VMA's SSH tunnel to the OMA's port 443.
#include "absl/flags/flag.h"
#include "services/common/flag_config.h"
#include "services/common/service_runtime.h"
#include "services/tunnel/tunnel_config.pb.h"
#include "services/tunnel/tunnel_service.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:8082",
          "host:port for the TunnelService gRPC API.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9101",
          "host:port for Prometheus metrics at /metrics.");

int main(int argc, char** argv) {
  migratekit::InitService(
      argc, argv,
      "Holds the VMA's SSH session to the OMA and its port forwards.\n"
      "Usage: tunnel-manager [flags]",
      migratekit::tunnel::config::TunnelManagerConfig());

  migratekit::ServiceRuntime runtime({
      .name = "tunnel-manager",
      .grpc_listen = absl::GetFlag(FLAGS_grpc_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
  });
  migratekit::tunnel::TunnelServiceImpl service;
  runtime.AddService(&service, "migratekit.tunnel.v1.TunnelService");
  return runtime.Run();
}
