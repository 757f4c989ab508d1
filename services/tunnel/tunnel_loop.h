// The tunnel: local listeners for the -L forwards, and one thread that
// polls them and every SSH session's sockets and moves all data (see
// SessionPump). Sessions are dialled on a helper thread (setup blocks), so
// data keeps moving while a new session comes up.
//
// Normally there is one session. A reverse forward that the server refuses
// (PermitListen says no, or the previous session's sshd child still holds
// the port) cannot be retried on the same session: libssh2 1.10 answers a
// later global request on that session with the wrong reply. So the retry
// dials a new session that asks only for the missing reverse forwards; it
// becomes the primary one (new local connections go to it) and the old one
// is let go once it carries nothing, without cutting its channels.
//
// A session dies when its socket fails (TCP_USER_TIMEOUT after unanswered
// keepalives, a reset, the server closing) or stalls; the tunnel then dials
// again with exponential backoff and jitter.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_LOOP_H_
#define MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_LOOP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/tunnel/backoff.h"
#include "services/tunnel/forward_spec.h"
#include "services/tunnel/session_pump.h"
#include "services/tunnel/ssh_session.h"
#include "services/tunnel/tunnel_status.h"

namespace migratekit::tunnel {

class TunnelLoop {
 public:
  struct Options {
    SshOptions ssh;
    std::vector<ForwardSpec> forwards;  // local and remote
    Backoff::Options backoff;
    SessionPump::Options pump;
    // Like ssh's ExitOnForwardFailure: if a forward is refused on the
    // first session, call on_fatal instead of retrying.
    bool exit_on_forward_failure = false;
  };

  // Binds every local forward's listener (a busy port is an error naming
  // the forward). `on_fatal` is called from the loop thread with a message
  // when the process should exit.
  static absl::StatusOr<std::unique_ptr<TunnelLoop>> Create(
      Options options, TunnelStatusStore* status,
      std::function<void(const absl::Status&)> on_fatal);
  ~TunnelLoop();

  // Starts the loop thread.
  void Start();
  // Stops it and closes every session and listener.
  void Stop();
  // Drops every session and dials a new one at once, skipping backoff.
  void Reconnect(const std::string& reason);

 private:
  struct DialSlot;
  TunnelLoop(Options options, TunnelStatusStore* status,
             std::function<void(const absl::Status&)> on_fatal);

  void Run();
  void Wake();
  void StartDial(std::vector<int> remote_forwards, absl::Time now);
  void TakeDialResult(absl::Time now);
  void AcceptLocal(int forward, absl::Time now);
  void DropDeadPumps(absl::Time now);
  void DropAllPumps(const absl::Status& why);
  void UpdateState();
  std::vector<int> MissingRemoteForwards() const;
  SessionPump* primary() const {
    return pumps_.empty() ? nullptr : pumps_.back().get();
  }

  Options options_;
  TunnelStatusStore* status_;
  std::function<void(const absl::Status&)> on_fatal_;

  std::vector<int> listen_fds_;  // per forward; -1 for remote forwards
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reconnect_{false};

  std::vector<std::unique_ptr<SessionPump>> pumps_;
  std::shared_ptr<DialSlot> dial_;  // while a dial runs
  bool dial_is_full_ = false;
  int next_pump_id_ = 1;
  bool had_session_ = false;
  Backoff session_backoff_;
  Backoff forward_backoff_;
  absl::Time next_dial_ = absl::InfinitePast();
  absl::Time next_repair_ = absl::InfinitePast();
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_LOOP_H_
