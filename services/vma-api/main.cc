// vma-api: the VMA's replication API, reached from the OMA through the
// tunnel's reverse forward.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "services/common/flag_config.h"
#include "services/common/logging.h"
#include "services/common/service_runtime.h"
#include "services/vma-api/job_manager.h"
#include "services/vma-api/job_metrics.h"
#include "services/vma-api/job_store.h"
#include "services/vma-api/vma_config.pb.h"
#include "services/vma-api/vma_service.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:8081",
          "host:port for the VmaService gRPC API; the OMA reaches it through "
          "the tunnel's reverse forward.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9102",
          "host:port for Prometheus metrics at /metrics.");
ABSL_FLAG(std::string, state_dir, "",
          "Directory for the job database (jobs.sqlite): jobs and their "
          "checkpoints survive a restart there. Empty keeps them in memory "
          "only (lost at exit).");
ABSL_FLAG(std::string, default_target_address, "127.0.0.1:10808",
          "host:port of the NBD server for jobs that name none: the "
          "tunnel's forward to the OMA's nbd-server.");
ABSL_FLAG(uint32_t, default_connections, 4,
          "NBD connections to each of source and target per job, 1 to 16.");
ABSL_FLAG(uint32_t, default_requests_per_connection, 16,
          "NBD requests in flight per connection, 1 to 64.");
ABSL_FLAG(uint32_t, default_request_size_bytes, 2 << 20,
          "Bytes per data request, a power of two from 4096 to 33554432. "
          "Memory per job is about connections x requests x this.");
ABSL_FLAG(uint32_t, checkpoint_interval_ms, 2000,
          "Milliseconds between durable checkpoints while copying.");
ABSL_FLAG(uint32_t, job_retry_initial_ms, 500,
          "Milliseconds before a job whose source or target went away tries "
          "again; doubles up to --job_retry_max_ms.");
ABSL_FLAG(uint32_t, job_retry_max_ms, 30000,
          "The longest wait between two attempts of a job.");
ABSL_FLAG(uint32_t, job_max_retries, 100,
          "Attempts after a lost source or target before a job fails.");

int main(int argc, char** argv) {
  migratekit::InitService(
      argc, argv,
      "Runs replication jobs that copy source disks through the tunnel.\n"
      "Usage: vma-api [flags]",
      migratekit::vma::config::VmaApiConfig());
  using migratekit::vma::JobManager;

  std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  auto store = migratekit::vma::JobStore::Open(state_dir);
  if (!store.ok()) {
    spdlog::error("vma-api: {}", store.status().message());
    return 1;
  }
  if (state_dir.empty()) {
    spdlog::warn("vma-api: no --state_dir; jobs are kept in memory only");
  }

  migratekit::ServiceRuntime runtime({
      .name = "vma-api",
      .grpc_listen = absl::GetFlag(FLAGS_grpc_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
  });
  migratekit::vma::JobMetrics metrics(runtime.metrics());
  migratekit::vma::JobEnvironment env{
      .store = store->get(),
      .metrics = &metrics,
      .checkpoint_interval =
          absl::Milliseconds(absl::GetFlag(FLAGS_checkpoint_interval_ms)),
      .retry_initial =
          absl::Milliseconds(absl::GetFlag(FLAGS_job_retry_initial_ms)),
      .retry_max = absl::Milliseconds(absl::GetFlag(FLAGS_job_retry_max_ms)),
      .max_retries = static_cast<int>(absl::GetFlag(FLAGS_job_max_retries)),
  };
  migratekit::vma::JobDefaults defaults{
      .target_address = absl::GetFlag(FLAGS_default_target_address),
      .connections = absl::GetFlag(FLAGS_default_connections),
      .requests_per_connection =
          absl::GetFlag(FLAGS_default_requests_per_connection),
      .request_size_bytes = absl::GetFlag(FLAGS_default_request_size_bytes),
  };
  JobManager jobs(store->get(), defaults, env);
  migratekit::vma::VmaServiceImpl service(&jobs);

  const std::string name = "migratekit.vma.v1.VmaService";
  runtime.AddService(&service, name);
  runtime.OnShutdown([&] {
    service.Shutdown();
    jobs.Shutdown();
  });
  if (absl::Status status = jobs.Recover(); !status.ok()) {
    spdlog::error("vma-api: {}", status.message());
    return 1;
  }
  runtime.SetServing(name, true);
  return runtime.Run();
}
