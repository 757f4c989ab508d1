// One SSH session to the OMA, set up in blocking mode (TCP connect, key
// exchange with the configured cipher and MAC, host key pinning, Ed25519
// public key authentication, then the reverse forwards), and handed to the
// event loop in non-blocking mode.
//
// Setup blocks (bounded by connect_timeout), so the tunnel runs it on a
// thread of its own while the loop keeps serving the sessions it has.
//
// The TCP socket gets keepalive probes and TCP_USER_TIMEOUT set to
// keepalive interval x count: libssh2 1.10 never tracks keepalive replies,
// so a peer that went silent is found by the kernel, which fails the
// socket once sent data (SSH keepalives included) stays unacknowledged
// that long.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_SSH_SESSION_H_
#define MIGRATEKIT_SERVICES_TUNNEL_SSH_SESSION_H_

#include <libssh2.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/net_address.h"
#include "services/tunnel/forward_spec.h"

namespace migratekit::tunnel {

struct SshOptions {
  HostPort server;
  std::string user = "vma_tunnel";
  std::string identity;              // OpenSSH-format private key file
  std::string known_hosts;           // file; or
  std::string host_key_fingerprint;  // "SHA256:..."
  std::string ciphers = "aes128-ctr";
  std::string macs = "hmac-sha2-256";
  absl::Duration connect_timeout = absl::Seconds(15);
  absl::Duration keepalive_interval = absl::Seconds(30);
  int keepalive_count = 3;
};

// Why a dial failed, for the connect_failures_total{reason} metric:
// "resolve", "connect", "handshake", "host_key", "auth", "socket".
struct DialError {
  std::string reason;
  absl::Status status;
};

// Calls libssh2_init once for the process; call before any thread uses
// libssh2.
void InitLibssh2();

class SshSession {
 public:
  // Connects, checks the host key and authenticates. On failure `error`
  // says why and nullptr is returned.
  static std::unique_ptr<SshSession> Dial(const SshOptions& options,
                                          DialError* error);

  // Shuts the socket down first, so that freeing never waits on a dead
  // peer, then frees the session.
  ~SshSession();

  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Asks the server to listen for `spec` (blocking; before any keepalive,
  // because libssh2 1.10 mixes up global request replies). The host is sent
  // as written: PermitListen matches it literally.
  absl::StatusOr<LIBSSH2_LISTENER*> ListenRemote(const ForwardSpec& spec);

  // Opens a "session" channel that never runs anything (blocking). Reading
  // from it is the only way libssh2 1.10 offers to process incoming
  // packets (the server's keepalive requests, replies, window adjusts) on a
  // session that has no reverse forward to accept on and no channel with
  // room to read into. keeper() stays null if the server refuses it.
  void OpenKeeper();
  LIBSSH2_CHANNEL* keeper() const { return keeper_; }

  // Switches to non-blocking mode and configures keepalives. They ask for
  // a reply so that a live server always sends something back (libssh2
  // 1.10 does not track the replies; the pump only notices bytes arriving).
  // Only safe once every global request of the session is answered: 1.10
  // would hand a keepalive's reply to a pending tcpip-forward.
  void StartNonBlocking(absl::Duration keepalive_interval);

  LIBSSH2_SESSION* session() const { return session_; }
  int fd() const { return fd_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& cipher() const { return cipher_; }
  const std::string& mac() const { return mac_; }

  // The session's last libssh2 error as a Status with `what` in front.
  absl::Status LastError(absl::string_view what) const;

 private:
  SshSession() = default;
  absl::Status Handshake(const SshOptions& options, DialError* error);
  absl::Status CheckHostKey(const SshOptions& options);

  int fd_ = -1;
  LIBSSH2_SESSION* session_ = nullptr;
  LIBSSH2_CHANNEL* keeper_ = nullptr;
  std::string fingerprint_;
  std::string cipher_;
  std::string mac_;
};

// Checks that `path` is a readable private key file that group and others
// cannot read (as ssh does). INVALID_ARGUMENT naming the file otherwise.
absl::Status CheckIdentityFile(const std::string& path);

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_SSH_SESSION_H_
