// export-manager: the OMA's owner of the NBD exports of one nbd-server (or
// nbdkit). See export_registry.h for the lifecycle, nbd_server_backend.h
// and nbdkit_backend.h for how each server is driven.
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/flag_config.h"
#include "services/common/logging.h"
#include "services/common/net_address.h"
#include "services/common/service_runtime.h"
#include "services/exports/export_metrics.h"
#include "services/exports/export_registry.h"
#include "services/exports/export_service.h"
#include "services/exports/exports_config.pb.h"
#include "services/exports/nbd_server_backend.h"
#include "services/exports/nbdkit_backend.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:8083",
          "host:port for the ExportService gRPC API.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9103",
          "host:port for Prometheus metrics at /metrics.");
ABSL_FLAG(std::string, backend, "nbd-server",
          "The NBD server: \"nbd-server\" (Debian's 3.24, reloaded with "
          "SIGHUP) or \"nbdkit\" (file plugin over the link directory).");
ABSL_FLAG(std::string, nbd_listen, "127.0.0.1:10809",
          "host:port the NBD server listens on.");
ABSL_FLAG(std::string, state_dir, "/var/lib/migratekit/exports",
          "Directory for the generated nbd-server config, the placeholder "
          "export and the pid file of the server export-manager runs.");
ABSL_FLAG(std::string, include_dir, "",
          "nbd-server's includedir, one <export>.conf per export; default "
          "<state_dir>/conf.d.");
ABSL_FLAG(std::string, link_dir, "",
          "Directory of links <export> -> device the server opens at each "
          "connection; default <state_dir>/links.");
ABSL_FLAG(std::string, nbd_pidfile, "",
          "Adopt the NBD server whose pid this file holds (it has its own "
          "unit) instead of running one. Its config must include "
          "--include_dir.");
ABSL_FLAG(bool, allow_regular_files, false,
          "Accept regular files as devices (tests, demos).");
ABSL_FLAG(int32_t, create_timeout_seconds, 30,
          "How long a create waits for its export to be served before it "
          "rolls back.");
ABSL_FLAG(std::string, nbd_reload, "restart",
          "How nbd-server learns of a new export: \"restart\" replaces its "
          "main process (running transfers carry on; 3.24's SIGHUP reload "
          "breaks the server) or \"sighup\" (for fixed versions).");
ABSL_FLAG(int32_t, nbd_max_reloads_per_process, 8,
          "With --nbd_reload=sighup: SIGHUPs one nbd-server process takes "
          "before it is replaced by a new one instead.");
ABSL_FLAG(std::string, nbd_server_binary, "/usr/bin/nbd-server",
          "The nbd-server program.");
ABSL_FLAG(std::string, nbdkit_binary, "/usr/bin/nbdkit", "The nbdkit program.");
ABSL_FLAG(std::string, nbd_log_relay, "",
          "Library preloaded into the nbd-server export-manager starts, to "
          "keep it in the foreground and relay its syslog lines; required "
          "(a daemonized nbd-server cannot be supervised). Default: "
          "libnbd_log_relay.so next to this binary.");

namespace migratekit::exports {
namespace {

std::string DefaultRelayLibrary() {
  char self[PATH_MAX];
  if (realpath("/proc/self/exe", self) == nullptr) return "";
  std::string path(self);
  path = path.substr(0, path.rfind('/')) + "/libnbd_log_relay.so";
  return access(path.c_str(), R_OK) == 0 ? path : "";
}

std::string OrDefault(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

std::unique_ptr<ExportBackend> MakeBackend(
    const HostPort& listen, std::function<void(bool)> on_change) {
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  const std::string link_dir =
      OrDefault(absl::GetFlag(FLAGS_link_dir), state_dir + "/links");
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend == "nbdkit") {
    return std::make_unique<NbdkitBackend>(NbdkitBackend::Options{
        listen, state_dir, link_dir, absl::GetFlag(FLAGS_nbdkit_binary),
        absl::GetFlag(FLAGS_nbd_pidfile), std::move(on_change)});
  }
  if (backend != "nbd-server") return nullptr;
  const std::string reload = absl::GetFlag(FLAGS_nbd_reload);
  if (reload != "restart" && reload != "sighup") {
    spdlog::error("exports: --nbd_reload={} is neither restart nor sighup",
                  Quoted(reload));
    return nullptr;
  }

  // Without the library nbd-server daemonizes itself: its parent exits 0 at
  // once and the supervisor would restart it in a loop.
  std::string relay =
      OrDefault(absl::GetFlag(FLAGS_nbd_log_relay), DefaultRelayLibrary());
  bool adopting = !absl::GetFlag(FLAGS_nbd_pidfile).empty();
  if (!adopting && (relay.empty() || access(relay.c_str(), R_OK) != 0)) {
    spdlog::error(
        "exports: --nbd_log_relay: {} cannot be read; export-manager needs "
        "it to keep the nbd-server it starts in the foreground",
        relay.empty() ? "no libnbd_log_relay.so next to this binary"
                      : QuotedPath(relay));
    return nullptr;
  }
  NbdServerBackend::Options options;
  options.listen = listen;
  options.state_dir = state_dir;
  options.include_dir =
      OrDefault(absl::GetFlag(FLAGS_include_dir), state_dir + "/conf.d");
  options.link_dir = link_dir;
  options.program = absl::GetFlag(FLAGS_nbd_server_binary);
  options.relay_library = relay;
  options.adopt_pidfile = absl::GetFlag(FLAGS_nbd_pidfile);
  options.reload_mode = absl::GetFlag(FLAGS_nbd_reload) == "sighup"
                            ? NbdServerBackend::Options::ReloadMode::kSighup
                            : NbdServerBackend::Options::ReloadMode::kRestart;
  options.max_reloads_per_process =
      absl::GetFlag(FLAGS_nbd_max_reloads_per_process);
  options.on_change = std::move(on_change);
  return std::make_unique<NbdServerBackend>(std::move(options));
}

int Main() {
  constexpr char kService[] = "migratekit.exports.v1.ExportService";
  absl::StatusOr<HostPort> listen =
      ParseHostPort(absl::GetFlag(FLAGS_nbd_listen));
  if (!listen.ok()) {
    spdlog::error("exports: --nbd_listen: {}", listen.status());
    return 2;
  }

  ServiceRuntime runtime({
      .name = "export-manager",
      .grpc_listen = absl::GetFlag(FLAGS_grpc_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
  });
  ExportMetrics metrics(runtime.metrics());
  ExportRegistry* registry_for_changes = nullptr;
  std::unique_ptr<ExportBackend> backend = MakeBackend(*listen, [&](bool up) {
    runtime.SetServing(kService, up);
    if (registry_for_changes != nullptr) {
      registry_for_changes->OnServerChange(up);
    }
  });
  if (backend == nullptr) {
    spdlog::error("exports: cannot run --backend={}",
                  Quoted(absl::GetFlag(FLAGS_backend)));
    return 2;
  }
  ExportRegistry registry(
      {.allow_regular_files = absl::GetFlag(FLAGS_allow_regular_files),
       .create_timeout =
           absl::Seconds(absl::GetFlag(FLAGS_create_timeout_seconds))},
      backend.get(), &metrics);
  registry_for_changes = &registry;
  ExportServiceImpl service(&registry);
  runtime.AddService(&service, kService);

  // The API's ports first: a taken port is one line and exit 1, before any
  // NBD server is started.
  absl::Status listening = runtime.Start();
  if (!listening.ok()) {
    spdlog::error("export-manager: {}", listening.message());
    return 1;
  }

  // A server that cannot start now (its port taken, say) is retried by
  // the supervisor while the API answers with health NOT_SERVING; a state
  // directory that cannot be used is fatal.
  absl::Status started = backend->Start();
  if (!started.ok() && started.code() != absl::StatusCode::kUnavailable) {
    spdlog::error("exports: cannot start: {}", started);
    backend->Stop();
    return 1;
  }
  if (!started.ok()) spdlog::error("exports: {}; retrying", started.message());
  registry.LoadRecovered();
  metrics.SetServerUp(backend->up());
  runtime.SetServing(kService, backend->up());
  runtime.OnShutdown([&] { backend->Stop(); });
  int code = runtime.Wait();
  backend->Stop();
  return code;
}

}  // namespace
}  // namespace migratekit::exports

int main(int argc, char** argv) {
  migratekit::InitService(
      argc, argv,
      "Creates and removes the OMA's NBD exports, one per migrated volume.\n"
      "Usage: export-manager [flags]",
      migratekit::exports::config::ExportManagerConfig());
  // A peer gone away is an error return, not a death.
  signal(SIGPIPE, SIG_IGN);
  return migratekit::exports::Main();
}
