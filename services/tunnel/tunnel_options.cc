#include "services/tunnel/tunnel_options.h"

#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace migratekit::tunnel {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::Status CheckResolves(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (found != nullptr) freeaddrinfo(found);
  if (rc == EAI_NONAME || rc == EAI_NODATA) {
    return Bad(
        "oma_host",
        absl::StrCat("\"", host, "\" does not resolve: ", gai_strerror(rc)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ForwardSpec>> Forwards(const TunnelFlags& flags) {
  auto local =
      ParseForwardSpecs(ForwardDirection::kLocal, flags.local_forwards);
  if (!local.ok()) return Bad("local_forwards", local.status().message());
  auto remote =
      ParseForwardSpecs(ForwardDirection::kRemote, flags.remote_forwards);
  if (!remote.ok()) return Bad("remote_forwards", remote.status().message());
  std::vector<ForwardSpec> all = *std::move(local);
  all.insert(all.end(), remote->begin(), remote->end());
  absl::Status unique = CheckNoDuplicateListeners(all);
  if (!unique.ok())
    return Bad("local_forwards/--remote_forwards", unique.message());
  if (all.empty()) return Bad("local_forwards", "no forwards configured");
  return all;
}

absl::Status CheckNumbers(const TunnelFlags& flags) {
  if (flags.oma_port < 1 || flags.oma_port > 65535) {
    return Bad("oma_port", "must be 1 to 65535");
  }
  if (flags.keepalive_interval_seconds < 1) {
    return Bad("keepalive_interval_seconds", "must be at least 1");
  }
  if (flags.keepalive_count < 1) return Bad("keepalive_count", "must be >= 1");
  if (flags.backoff_initial_seconds <= 0) {
    return Bad("backoff_initial_seconds", "must be positive");
  }
  if (flags.backoff_max_seconds < flags.backoff_initial_seconds) {
    return Bad("backoff_max_seconds", "must be >= --backoff_initial_seconds");
  }
  if (flags.stall_timeout_seconds <= 0) {
    return Bad("stall_timeout_seconds", "must be positive");
  }
  if (flags.connect_timeout_seconds <= 0) {
    return Bad("connect_timeout_seconds", "must be positive");
  }
  if (flags.channel_buffer_kib < 16 || flags.channel_buffer_kib > 65536) {
    return Bad("channel_buffer_kib", "must be 16 to 65536");
  }
  return absl::OkStatus();
}

absl::Status CheckHostKeyPin(const TunnelFlags& flags) {
  if (!flags.host_key_fingerprint.empty()) {
    if (!absl::StartsWith(flags.host_key_fingerprint, "SHA256:")) {
      return Bad("host_key_fingerprint", "must look like SHA256:<base64>");
    }
    return absl::OkStatus();
  }
  if (flags.known_hosts.empty()) {
    return Bad("known_hosts",
               "no host key pin: give --known_hosts or "
               "--host_key_fingerprint");
  }
  if (access(flags.known_hosts.c_str(), R_OK) != 0) {
    return Bad("known_hosts",
               absl::StrCat(flags.known_hosts, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TunnelLoop::Options> BuildTunnelOptions(
    const TunnelFlags& flags) {
  if (flags.oma_host.empty()) return Bad("oma_host", "required");
  absl::Status status = CheckNumbers(flags);
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<ForwardSpec>> forwards = Forwards(flags);
  if (!forwards.ok()) return forwards.status();
  status = CheckIdentityFile(flags.identity);
  if (!status.ok()) return status;
  status = CheckHostKeyPin(flags);
  if (!status.ok()) return status;
  if (flags.ciphers.empty()) return Bad("ciphers", "empty");
  if (flags.macs.empty()) return Bad("macs", "empty");
  status = CheckResolves(flags.oma_host);
  if (!status.ok()) return status;

  TunnelLoop::Options options;
  options.forwards = *std::move(forwards);
  SshOptions& ssh = options.ssh;
  ssh.server = {flags.oma_host, static_cast<uint16_t>(flags.oma_port)};
  ssh.user = flags.user;
  ssh.identity = flags.identity;
  ssh.known_hosts = flags.known_hosts;
  ssh.host_key_fingerprint = flags.host_key_fingerprint;
  ssh.ciphers = flags.ciphers;
  ssh.macs = flags.macs;
  ssh.connect_timeout = absl::Seconds(flags.connect_timeout_seconds);
  ssh.keepalive_interval = absl::Seconds(flags.keepalive_interval_seconds);
  ssh.keepalive_count = flags.keepalive_count;
  options.backoff.initial = absl::Seconds(flags.backoff_initial_seconds);
  options.backoff.cap = absl::Seconds(flags.backoff_max_seconds);
  options.pump.buffer_bytes = size_t{1024} * flags.channel_buffer_kib;
  options.pump.stall_timeout = absl::Seconds(flags.stall_timeout_seconds);
  options.pump.keepalive_interval = ssh.keepalive_interval;
  options.pump.keepalive_count = ssh.keepalive_count;
  options.exit_on_forward_failure = flags.exit_on_forward_failure;
  return options;
}

}  // namespace migratekit::tunnel
