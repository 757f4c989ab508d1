// The non-blocking side of one SSH session: every channel it carries, moved
// along by Step() from a single thread that polls the session's socket and
// every channel's local socket (see TunnelLoop).
//
// libssh2 1.10 allows exactly one send in flight per session: once a send
// returned EAGAIN with the socket full, that same call, with the same
// buffer, must be retried before anything else is sent (another channel's
// data, a window adjust that a read triggers, an EOF, a keepalive). So the
// pump keeps at most one pending operation; while it exists, Step() only
// retries it, and no read is made that could try to send. Channel data
// waits in fixed buffers (ByteRing) that never move while a write points
// into them, and a channel is only written as much as its window allows,
// so a stalled reader on one channel never blocks the session's socket for
// the others.
//
// Each channel passes half-closes through both ways (EOF from the local
// socket becomes SSH EOF once every byte is sent; SSH EOF becomes
// shutdown(SHUT_WR) once every byte is written) and is closed only when
// both directions are done or one side failed.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_SESSION_PUMP_H_
#define MIGRATEKIT_SERVICES_TUNNEL_SESSION_PUMP_H_

#include <libssh2.h>
#include <poll.h>

#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/tunnel/forward_channel.h"
#include "services/tunnel/forward_spec.h"
#include "services/tunnel/ssh_session.h"
#include "services/tunnel/tunnel_status.h"

namespace migratekit::tunnel {

class SessionPump {
 public:
  struct Options {
    // Bytes buffered per channel and direction.
    size_t buffer_bytes = 256 * 1024;
    // A send waiting this long with no progress on the session is a dead
    // session (libssh2 can return EAGAIN for ever around a rekey).
    absl::Duration stall_timeout = absl::Seconds(60);
    absl::Duration keepalive_interval = absl::Seconds(30);
    // A server that sends nothing for interval x count is dead.
    int keepalive_count = 3;
  };

  SessionPump(int id, std::unique_ptr<SshSession> ssh,
              const std::vector<ForwardSpec>* specs, TunnelStatusStore* status,
              Options options);
  // Closes every channel's local socket; the session goes with it.
  ~SessionPump();

  SessionPump(const SessionPump&) = delete;
  SessionPump& operator=(const SessionPump&) = delete;

  // A reverse forward the server now listens for on this session.
  void AddListener(int forward, LIBSSH2_LISTENER* listener);
  const std::map<int, LIBSSH2_LISTENER*>& listeners() const {
    return listeners_;
  }

  // Carries `fd`, accepted on local forward `forward`, as a new channel.
  void AddLocalConnection(int forward, int fd, uint16_t peer_port);

  // Appends what to poll for; TakeRevents() reads the results back from
  // the same positions.
  void AddPollFds(std::vector<pollfd>* fds);
  void TakeRevents(const std::vector<pollfd>& fds);

  // Does all the work that can be done now without blocking. Returns
  // whether anything moved (then the caller polls again without waiting).
  bool Step(absl::Time now);

  // The latest time the caller should wake up at even with no events.
  absl::Time NextWakeup(absl::Time now) const;

  bool dead() const { return !death_.ok(); }
  const absl::Status& death() const { return death_; }
  int id() const { return id_; }
  size_t channel_count() const { return channels_.size(); }
  const SshSession& ssh() const { return *ssh_; }

 private:
  using Channel = ForwardChannel;
  enum class Op { kNone, kOpen, kWrite, kRead, kEof, kClose, kKeepalive };
  enum class Outcome { kDone, kWait, kBlocked, kFailed };

  Outcome Do(Op op, Channel* channel);
  Outcome OpenChannel(Channel* channel);
  Outcome WriteChannel(Channel* channel);
  Outcome ReadChannel(Channel* channel);
  Outcome CloseChannel(Channel* channel);
  Outcome SendKeepalive();
  Outcome Failed(int rc, Op op, Channel* channel);
  void Abort(Channel* channel, const char* why);

  bool LocalIo(Channel* channel);
  bool ChannelSends(Channel* channel, bool* blocked);
  bool AcceptRemote();
  void DrainIncoming();
  void StartLocalConnect(int forward, LIBSSH2_CHANNEL* ssh_channel);
  void Reap();
  void Die(absl::Status why);
  void CountBytes(Channel* channel, size_t to_remote, size_t to_local);

  const int id_;
  std::unique_ptr<SshSession> ssh_;
  LIBSSH2_SESSION* session_;
  const std::vector<ForwardSpec>* specs_;
  TunnelStatusStore* status_;
  const Options options_;

  std::map<int, LIBSSH2_LISTENER*> listeners_;
  std::vector<std::unique_ptr<Channel>> channels_;
  int next_channel_id_ = 0;
  size_t rotation_ = 0;

  // The one send libssh2 must see retried first, if any.
  Op pending_op_ = Op::kNone;
  Channel* pending_channel_ = nullptr;
  // The channel whose direct-tcpip open is in flight (one at a time:
  // libssh2 keeps that state per session).
  Channel* opening_ = nullptr;
  // A send was refused because libssh2 holds an internal one (a reply it
  // makes while reading); reads will finish it.
  bool internal_send_pending_ = false;

  int socket_poll_index_ = -1;
  short socket_revents_ = 0;
  absl::Time last_progress_;
  absl::Time last_heard_;  // the server's socket was last readable
  absl::Time next_keepalive_;
  // See SshSession::OpenKeeper; may be null.
  LIBSSH2_CHANNEL* keeper_;
  absl::Status death_;
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_SESSION_PUMP_H_
