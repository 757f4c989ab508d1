// tunnel-manager: the VMA's SSH tunnel to the OMA's port 443.
#include <csignal>
#include <memory>

#include "absl/flags/flag.h"
#include "services/common/flag_config.h"
#include "services/common/logging.h"
#include "services/common/service_runtime.h"
#include "services/tunnel/tunnel_config.pb.h"
#include "services/tunnel/tunnel_loop.h"
#include "services/tunnel/tunnel_options.h"
#include "services/tunnel/tunnel_service.h"
#include "services/tunnel/tunnel_status.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:8082",
          "host:port for the TunnelService gRPC API.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9101",
          "host:port for Prometheus metrics at /metrics.");
ABSL_FLAG(std::string, oma_host, "",
          "The OMA's host name or address (required).");
ABSL_FLAG(int, oma_port, 443, "The OMA's sshd port.");
ABSL_FLAG(std::string, user, "vma_tunnel", "The SSH account on the OMA.");
ABSL_FLAG(std::string, identity, "/etc/migratekit/tunnel/id_ed25519",
          "Ed25519 private key in OpenSSH format; must not be readable by "
          "group or others.");
ABSL_FLAG(std::string, known_hosts, "/etc/migratekit/tunnel/known_hosts",
          "known_hosts file pinning the OMA's host key, entries in "
          "[host]:port form; never written to.");
ABSL_FLAG(std::string, host_key_fingerprint, "",
          "Pins the OMA's host key as SHA256:<base64> instead of "
          "--known_hosts.");
ABSL_FLAG(std::string, local_forwards, "127.0.0.1:10808:127.0.0.1:10809",
          "Comma-separated ssh -L forwards bind_host:port:host:port (the VMA "
          "listens, the OMA connects).");
ABSL_FLAG(std::string, remote_forwards, "127.0.0.1:9081:127.0.0.1:8081",
          "Comma-separated ssh -R forwards bind_host:port:host:port (the OMA "
          "listens, the VMA connects). Use the literal address sshd's "
          "PermitListen names.");
ABSL_FLAG(int, keepalive_interval_seconds, 30,
          "Seconds between SSH keepalives; also the TCP keepalive interval.");
ABSL_FLAG(int, keepalive_count, 3,
          "A peer silent for interval x count seconds is dead.");
ABSL_FLAG(double, backoff_initial_seconds, 1,
          "First reconnect delay; doubles per failure, with jitter.");
ABSL_FLAG(double, backoff_max_seconds, 60,
          "Cap of the reconnect delay; an unknown or changed host key is "
          "retried only at this pace.");
ABSL_FLAG(double, stall_timeout_seconds, 60,
          "A session with data waiting to be sent and no progress for this "
          "long is torn down and rebuilt.");
ABSL_FLAG(double, connect_timeout_seconds, 15,
          "Time allowed for TCP connect, key exchange, authentication and "
          "forward set-up.");
ABSL_FLAG(bool, exit_on_forward_failure, false,
          "Exit (code 1) if a forward is refused on the first session, like "
          "ssh's ExitOnForwardFailure, instead of retrying.");
ABSL_FLAG(std::string, ciphers, "aes128-ctr",
          "Cipher preference list for libssh2 (it has no AES-GCM).");
ABSL_FLAG(std::string, macs, "hmac-sha2-256", "MAC preference list.");
ABSL_FLAG(int, channel_buffer_kib, 256,
          "Buffer per channel and direction, in KiB (16 to 65536).");

namespace {

migratekit::tunnel::TunnelFlags FlagValues() {
  migratekit::tunnel::TunnelFlags flags;
  flags.oma_host = absl::GetFlag(FLAGS_oma_host);
  flags.oma_port = absl::GetFlag(FLAGS_oma_port);
  flags.user = absl::GetFlag(FLAGS_user);
  flags.identity = absl::GetFlag(FLAGS_identity);
  flags.known_hosts = absl::GetFlag(FLAGS_known_hosts);
  flags.host_key_fingerprint = absl::GetFlag(FLAGS_host_key_fingerprint);
  flags.local_forwards = absl::GetFlag(FLAGS_local_forwards);
  flags.remote_forwards = absl::GetFlag(FLAGS_remote_forwards);
  flags.keepalive_interval_seconds =
      absl::GetFlag(FLAGS_keepalive_interval_seconds);
  flags.keepalive_count = absl::GetFlag(FLAGS_keepalive_count);
  flags.backoff_initial_seconds = absl::GetFlag(FLAGS_backoff_initial_seconds);
  flags.backoff_max_seconds = absl::GetFlag(FLAGS_backoff_max_seconds);
  flags.stall_timeout_seconds = absl::GetFlag(FLAGS_stall_timeout_seconds);
  flags.connect_timeout_seconds = absl::GetFlag(FLAGS_connect_timeout_seconds);
  flags.exit_on_forward_failure = absl::GetFlag(FLAGS_exit_on_forward_failure);
  flags.ciphers = absl::GetFlag(FLAGS_ciphers);
  flags.macs = absl::GetFlag(FLAGS_macs);
  flags.channel_buffer_kib = absl::GetFlag(FLAGS_channel_buffer_kib);
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace migratekit;
  using namespace migratekit::tunnel;
  InitService(argc, argv,
              "Holds the VMA's SSH session to the OMA and its port forwards.\n"
              "Usage: tunnel-manager --oma_host=HOST [flags]",
              config::TunnelManagerConfig());
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<TunnelLoop::Options> options =
      BuildTunnelOptions(FlagValues());
  if (!options.ok()) {
    spdlog::error("tunnel-manager: {}", options.status().message());
    return 2;
  }

  ServiceRuntime runtime({
      .name = "tunnel-manager",
      .grpc_listen = absl::GetFlag(FLAGS_grpc_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
  });
  const std::string health_name = "migratekit.tunnel.v1.TunnelService";
  TunnelStatusStore status(
      options->ssh.server.ToString(), options->ssh.user, options->forwards,
      &runtime.metrics(),
      [&](bool serving) { runtime.SetServing(health_name, serving); });
  absl::StatusOr<std::unique_ptr<TunnelLoop>> loop =
      TunnelLoop::Create(*options, &status, [&](const absl::Status& why) {
        spdlog::error("tunnel: {}", why.message());
        runtime.RequestShutdown(1);
      });
  if (!loop.ok()) {
    spdlog::error("tunnel-manager: {}", loop.status().message());
    return 2;
  }
  TunnelServiceImpl service(
      &status, [&](const std::string& reason) { (*loop)->Reconnect(reason); });
  runtime.AddService(&service, health_name);
  runtime.OnShutdown([&] {
    service.Shutdown();
    (*loop)->Stop();
  });

  absl::Status started = runtime.Start();
  if (!started.ok()) {
    spdlog::error("tunnel-manager: {}", started.message());
    return 1;
  }
  (*loop)->Start();
  return runtime.Wait();
}
