// tunnel-manager's settings as flags give them, checked and turned into
// what the tunnel runs on. Every problem an operator can fix in the
// configuration is found here, before anything starts, as one message that
// names the setting.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_OPTIONS_H_
#define MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_OPTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/tunnel/tunnel_loop.h"

namespace migratekit::tunnel {

// The flags' values, one to one (see main.cc for their help texts).
struct TunnelFlags {
  std::string oma_host;
  int oma_port = 443;
  std::string user = "vma_tunnel";
  std::string identity;
  std::string known_hosts;
  std::string host_key_fingerprint;
  std::string local_forwards;
  std::string remote_forwards;
  int keepalive_interval_seconds = 30;
  int keepalive_count = 3;
  double backoff_initial_seconds = 1;
  double backoff_max_seconds = 60;
  double stall_timeout_seconds = 60;
  double connect_timeout_seconds = 15;
  bool exit_on_forward_failure = false;
  std::string ciphers = "aes128-ctr";
  std::string macs = "hmac-sha2-256";
  int channel_buffer_kib = 256;
};

// Checks the flags: forward specs and duplicates, the key file and its
// permissions, a host key pin (a fingerprint, or a readable known_hosts),
// numbers in range, and that the host name resolves (a name that does not
// exist is an error; a resolver that is merely unreachable is not).
absl::StatusOr<TunnelLoop::Options> BuildTunnelOptions(
    const TunnelFlags& flags);

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_OPTIONS_H_
