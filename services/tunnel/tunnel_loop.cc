#include "services/tunnel/tunnel_loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/common/logging.h"

namespace migratekit::tunnel {

// What a dial thread hands back. Shared, so that a dial still running at
// shutdown can finish on its own.
struct TunnelLoop::DialSlot {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  std::unique_ptr<SshSession> ssh ABSL_GUARDED_BY(mu);
  DialError error ABSL_GUARDED_BY(mu);
  std::vector<std::pair<int, LIBSSH2_LISTENER*>> bound ABSL_GUARDED_BY(mu);
  std::vector<std::pair<int, absl::Status>> refused ABSL_GUARDED_BY(mu);
  // A copy of the loop's wake-up eventfd, valid as long as the slot.
  int wake_fd = -1;
  ~DialSlot() {
    if (wake_fd >= 0) close(wake_fd);
  }
};

absl::StatusOr<std::unique_ptr<TunnelLoop>> TunnelLoop::Create(
    Options options, TunnelStatusStore* status,
    std::function<void(const absl::Status&)> on_fatal) {
  std::unique_ptr<TunnelLoop> loop(
      new TunnelLoop(std::move(options), status, std::move(on_fatal)));
  for (const ForwardSpec& spec : loop->options_.forwards) {
    int fd = -1;
    if (spec.direction == ForwardDirection::kLocal) {
      absl::StatusOr<int> bound = BindTcp(spec.listen);
      if (!bound.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--local_forwards ", spec.ToString(), ": ",
                         bound.status().message()));
      }
      fd = *bound;
    }
    loop->listen_fds_.push_back(fd);
  }
  return loop;
}

TunnelLoop::TunnelLoop(Options options, TunnelStatusStore* status,
                       std::function<void(const absl::Status&)> on_fatal)
    : options_(std::move(options)),
      status_(status),
      on_fatal_(std::move(on_fatal)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      session_backoff_(options_.backoff),
      forward_backoff_(options_.backoff) {
  InitLibssh2();
}

TunnelLoop::~TunnelLoop() {
  Stop();
  pumps_.clear();
  for (int fd : listen_fds_) {
    if (fd >= 0) close(fd);
  }
  close(wake_fd_);
}

void TunnelLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TunnelLoop::Stop() {
  stop_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void TunnelLoop::Reconnect(const std::string& reason) {
  spdlog::info("tunnel: reconnect requested reason={}", Quoted(reason));
  reconnect_ = true;
  Wake();
}

void TunnelLoop::Wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

std::vector<int> TunnelLoop::MissingRemoteForwards() const {
  std::vector<int> missing;
  for (size_t i = 0; i < options_.forwards.size(); ++i) {
    if (options_.forwards[i].direction != ForwardDirection::kRemote) continue;
    bool held = false;
    for (const auto& pump : pumps_) held |= pump->listeners().count(i) > 0;
    if (!held) missing.push_back(i);
  }
  return missing;
}

void TunnelLoop::StartDial(std::vector<int> remote_forwards, absl::Time now) {
  dial_ = std::make_shared<DialSlot>();
  dial_->wake_fd = dup(wake_fd_);
  dial_is_full_ = pumps_.empty();
  if (dial_is_full_) status_->SetState(v1::TUNNEL_STATE_CONNECTING);
  spdlog::debug("tunnel: dialing server={} forwards={}",
                options_.ssh.server.ToString(), remote_forwards.size());
  std::thread([slot = dial_, ssh_options = options_.ssh,
               specs = options_.forwards, remote_forwards,
               keepalive = options_.pump.keepalive_interval]() {
    DialError error;
    std::unique_ptr<SshSession> ssh = SshSession::Dial(ssh_options, &error);
    std::vector<std::pair<int, LIBSSH2_LISTENER*>> bound;
    std::vector<std::pair<int, absl::Status>> refused;
    bool poisoned = false;
    for (int forward : ssh ? remote_forwards : std::vector<int>()) {
      if (poisoned) {
        // libssh2 1.10 gives the reply to the request after a refused one
        // to the wrong caller; ask again on the next session.
        refused.emplace_back(
            forward, absl::UnavailableError("not requested: an earlier forward "
                                            "was refused on this session"));
        continue;
      }
      absl::StatusOr<LIBSSH2_LISTENER*> listener =
          ssh->ListenRemote(specs[forward]);
      if (listener.ok()) {
        bound.emplace_back(forward, *listener);
      } else {
        refused.emplace_back(forward, listener.status());
        poisoned = true;
      }
    }
    if (ssh) {
      ssh->OpenKeeper();
      ssh->StartNonBlocking(keepalive);
    }
    absl::MutexLock lock(&slot->mu);
    slot->ssh = std::move(ssh);
    slot->error = std::move(error);
    slot->bound = std::move(bound);
    slot->refused = std::move(refused);
    slot->done = true;
    uint64_t one = 1;
    (void)!::write(slot->wake_fd, &one, sizeof(one));
  }).detach();
  (void)now;
}

void TunnelLoop::TakeDialResult(absl::Time now) {
  std::unique_ptr<SshSession> ssh;
  DialError error;
  std::vector<std::pair<int, LIBSSH2_LISTENER*>> bound;
  std::vector<std::pair<int, absl::Status>> refused;
  {
    absl::MutexLock lock(&dial_->mu);
    if (!dial_->done) return;
    ssh = std::move(dial_->ssh);
    error = dial_->error;
    bound = std::move(dial_->bound);
    refused = std::move(dial_->refused);
  }
  dial_.reset();

  if (ssh == nullptr) {
    Backoff& backoff = pumps_.empty() ? session_backoff_ : forward_backoff_;
    absl::Duration wait =
        error.reason == "host_key" ? backoff.Slowest() : backoff.Next();
    if (backoff.failures() <= 1 || error.reason == "host_key") {
      spdlog::error("tunnel: connect failed reason={} retry_in={}: {}",
                    error.reason, absl::FormatDuration(wait),
                    error.status.message());
    } else {
      spdlog::debug("tunnel: connect failed reason={} retry_in={}: {}",
                    error.reason, absl::FormatDuration(wait),
                    error.status.message());
    }
    status_->ConnectFailed(error.reason, error.status);
    if (pumps_.empty()) {
      next_dial_ = now + wait;
      status_->SetNextAttempt(next_dial_);
    } else {
      next_repair_ = now + wait;
    }
    return;
  }

  const int id = next_pump_id_++;
  // A retry session for a refused forward logs at debug level.
  spdlog::log(pumps_.empty() ? spdlog::level::info : spdlog::level::debug,
              "tunnel: session {} up server={} user={} host_key={} "
              "cipher={} mac={}",
              id, options_.ssh.server.ToString(), options_.ssh.user,
              ssh->fingerprint(), ssh->cipher(), ssh->mac());
  status_->SessionUp(ssh->fingerprint(), ssh->cipher(), ssh->mac());
  session_backoff_.Reset();
  auto pump = std::make_unique<SessionPump>(
      id, std::move(ssh), &options_.forwards, status_, options_.pump);
  for (const auto& [forward, listener] : bound) {
    pump->AddListener(forward, listener);
    spdlog::info("{}: established on session {} listen={}",
                 options_.forwards[forward].Name(), id,
                 options_.forwards[forward].listen.ToString());
    status_->SetForwardState(forward, v1::FORWARD_STATE_ESTABLISHED);
  }
  // Retries log at debug level; the first refusal in a row is a warning.
  const bool first_refusal = forward_backoff_.failures() == 0;
  for (const auto& [forward, why] : refused) {
    if (first_refusal) {
      spdlog::warn("{}: refused by the server on session {}: {}",
                   options_.forwards[forward].Name(), id, why.message());
    } else {
      spdlog::debug("{}: refused again on session {}: {}",
                    options_.forwards[forward].Name(), id, why.message());
    }
    status_->ForwardFailed(forward, "refused", std::string(why.message()));
  }
  if (refused.empty()) {
    forward_backoff_.Reset();
  } else {
    next_repair_ = now + forward_backoff_.Next();
  }

  bool first = !had_session_;
  had_session_ = true;
  if (first && !refused.empty() && options_.exit_on_forward_failure) {
    on_fatal_(absl::FailedPreconditionError(
        absl::StrCat(options_.forwards[refused.front().first].Name(),
                     ": refused and --exit_on_forward_failure is set: ",
                     refused.front().second.message())));
  }
  // A retry session that got nothing adds nothing; the old one carries on.
  if (!pumps_.empty() && bound.empty()) return;
  pumps_.push_back(std::move(pump));
}

void TunnelLoop::AcceptLocal(int forward, absl::Time now) {
  (void)now;
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fds_[forward], reinterpret_cast<sockaddr*>(&peer),
                     &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    uint16_t peer_port = 0;
    if (peer.ss_family == AF_INET) {
      peer_port = ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      peer_port = ntohs(reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port);
    }
    SessionPump* pump = primary();
    if (pump == nullptr) {
      // No session: an immediate end-of-stream beats a client that hangs.
      spdlog::debug("{}: no session, connection closed",
                    options_.forwards[forward].Name());
      status_->ChannelOpenFailed(forward, "no_session");
      close(fd);
      continue;
    }
    pump->AddLocalConnection(forward, fd, peer_port);
  }
}

void TunnelLoop::DropDeadPumps(absl::Time now) {
  for (auto it = pumps_.begin(); it != pumps_.end();) {
    SessionPump& pump = **it;
    bool retire = !pump.dead() && pump.listeners().empty() &&
                  pump.channel_count() == 0 && it->get() != primary();
    if (!pump.dead() && !retire) {
      ++it;
      continue;
    }
    if (pump.dead()) {
      spdlog::warn("tunnel: session {} lost channels={}: {}", pump.id(),
                   pump.channel_count(), pump.death().message());
      status_->SessionLost(pump.death());
    } else {
      spdlog::info(
          "tunnel: session {} retired, a newer one carries the "
          "forwards",
          pump.id());
    }
    for (const auto& [forward, listener] : pump.listeners()) {
      status_->SetForwardState(forward, v1::FORWARD_STATE_PENDING,
                               "session lost");
    }
    it = pumps_.erase(it);
    if (pumps_.empty()) {
      absl::Duration wait = session_backoff_.Next();
      next_dial_ = now + wait;
      status_->SetNextAttempt(next_dial_);
      spdlog::debug("tunnel: next attempt in {}", absl::FormatDuration(wait));
    } else {
      next_repair_ = now;
    }
  }
}

void TunnelLoop::DropAllPumps(const absl::Status& why) {
  for (auto& pump : pumps_) {
    spdlog::info("tunnel: session {} closed channels={}: {}", pump->id(),
                 pump->channel_count(), why.message());
    for (const auto& [forward, listener] : pump->listeners()) {
      status_->SetForwardState(forward, v1::FORWARD_STATE_PENDING,
                               std::string(why.message()));
    }
  }
  pumps_.clear();
}

void TunnelLoop::UpdateState() {
  bool up = !pumps_.empty();
  bool all = up;
  for (size_t i = 0; i < options_.forwards.size(); ++i) {
    if (options_.forwards[i].direction == ForwardDirection::kLocal) {
      status_->SetForwardState(
          i, up ? v1::FORWARD_STATE_ESTABLISHED : v1::FORWARD_STATE_PENDING);
      continue;
    }
    bool held = false;
    for (const auto& pump : pumps_) held |= pump->listeners().count(i) > 0;
    all &= held;
  }
  if (!up) {
    status_->SetState(dial_ ? v1::TUNNEL_STATE_CONNECTING
                            : v1::TUNNEL_STATE_DOWN);
  } else {
    status_->SetState(all ? v1::TUNNEL_STATE_UP : v1::TUNNEL_STATE_DEGRADED);
  }
}

void TunnelLoop::Run() {
  bool progress = false;
  std::vector<pollfd> fds;
  while (!stop_) {
    absl::Time now = absl::Now();
    if (reconnect_.exchange(false)) {
      DropAllPumps(absl::CancelledError("reconnect requested"));
      session_backoff_.Reset();
      next_dial_ = now;
    }
    if (dial_) TakeDialResult(now);
    if (!dial_ && pumps_.empty() && now >= next_dial_) {
      std::vector<int> all;
      for (size_t i = 0; i < options_.forwards.size(); ++i) {
        if (options_.forwards[i].direction == ForwardDirection::kRemote) {
          all.push_back(i);
        }
      }
      StartDial(all, now);
    } else if (!dial_ && !pumps_.empty() && now >= next_repair_) {
      std::vector<int> missing = MissingRemoteForwards();
      if (!missing.empty()) StartDial(missing, now);
    }
    UpdateState();

    // Wait for something to do.
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
    absl::Time wake = now + absl::Seconds(1);
    if (pumps_.empty()) wake = std::min(wake, next_dial_);
    if (!MissingRemoteForwards().empty()) wake = std::min(wake, next_repair_);
    for (auto& pump : pumps_) {
      pump->AddPollFds(&fds);
      wake = std::min(wake, pump->NextWakeup(now));
    }
    int timeout_ms =
        progress
            ? 0
            : std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - now) + 1);
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      spdlog::error("tunnel: poll failed: {}", strerror(errno));
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
    }

    now = absl::Now();
    for (size_t i = 0; i < listen_fds_.size(); ++i) {
      if (listen_fds_[i] >= 0 && (fds[i + 1].revents & POLLIN)) {
        AcceptLocal(i, now);
      }
    }
    progress = false;
    for (auto& pump : pumps_) {
      pump->TakeRevents(fds);
      progress |= pump->Step(now);
    }
    DropDeadPumps(now);
  }
  DropAllPumps(absl::CancelledError("shutting down"));
}

}  // namespace migratekit::tunnel
