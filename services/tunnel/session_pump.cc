#include "services/tunnel/session_pump.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace migratekit::tunnel {
namespace {

// libssh2_channel_write sends at most about 32 KiB per call anyway.
constexpr size_t kMaxWrite = 32 * 1024;
constexpr int kWritesPerTurn = 8;

bool SessionFatal(int rc) {
  switch (rc) {
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_ALLOC:
    case LIBSSH2_ERROR_INVALID_MAC:
      return true;
    default:
      return false;
  }
}

}  // namespace

SessionPump::SessionPump(int id, std::unique_ptr<SshSession> ssh,
                         const std::vector<ForwardSpec>* specs,
                         TunnelStatusStore* status, Options options)
    : id_(id),
      ssh_(std::move(ssh)),
      session_(ssh_->session()),
      specs_(specs),
      status_(status),
      options_(options),
      last_progress_(absl::Now()),
      last_heard_(absl::Now()),
      next_keepalive_(absl::Now() + options.keepalive_interval),
      keeper_(ssh_->keeper()) {}

SessionPump::~SessionPump() {
  for (auto& channel : channels_) {
    if (channel->fd >= 0) close(channel->fd);
    status_->ChannelClosed(channel->forward);
  }
  // The channels and listeners are freed with the session.
}

void SessionPump::AddListener(int forward, LIBSSH2_LISTENER* listener) {
  listeners_[forward] = listener;
}

void SessionPump::AddLocalConnection(int forward, int fd, uint16_t peer_port) {
  auto channel = std::make_unique<Channel>(next_channel_id_++, forward, fd,
                                           options_.buffer_bytes);
  channel->peer_port = peer_port;
  status_->ChannelOpened(forward);
  channels_.push_back(std::move(channel));
}

void SessionPump::AddPollFds(std::vector<pollfd>* fds) {
  short socket_events = POLLIN | POLLRDHUP;
  if (pending_op_ != Op::kNone || internal_send_pending_) {
    socket_events |= POLLOUT;
  }
  socket_poll_index_ = fds->size();
  fds->push_back({ssh_->fd(), socket_events, 0});
  for (auto& channel : channels_) {
    short events = 0;
    if (channel->state == Channel::State::kConnecting) events |= POLLOUT;
    if (!channel->local_eof && channel->to_remote.room() > 0 &&
        channel->state != Channel::State::kClosing) {
      events |= POLLIN;
    }
    if (!channel->to_local.empty()) events |= POLLOUT;
    channel->poll_index = fds->size();
    fds->push_back({channel->fd, events, 0});
  }
}

void SessionPump::TakeRevents(const std::vector<pollfd>& fds) {
  socket_revents_ = fds[socket_poll_index_].revents;
  if (socket_revents_ & POLLIN) last_heard_ = absl::Now();
  for (auto& channel : channels_) {
    if (channel->poll_index < 0) continue;
    channel->revents = fds[channel->poll_index].revents;
    if (channel->revents & (POLLOUT | POLLERR | POLLHUP)) {
      channel->local_blocked = false;
    }
    channel->poll_index = -1;
  }
}

absl::Time SessionPump::NextWakeup(absl::Time now) const {
  absl::Time wake =
      std::min(next_keepalive_, last_heard_ + options_.keepalive_interval *
                                                  options_.keepalive_count);
  if (pending_op_ != Op::kNone || opening_ != nullptr) {
    wake = std::min(wake, last_progress_ + options_.stall_timeout);
  }
  if (internal_send_pending_)
    wake = std::min(wake, now + absl::Milliseconds(10));
  return wake;
}

void SessionPump::Die(absl::Status why) {
  if (dead()) return;
  death_ = why;
}

void SessionPump::CountBytes(Channel* channel, size_t to_remote,
                             size_t to_local) {
  // "sent" runs from the listening side to the connecting side.
  bool local =
      (*specs_)[channel->forward].direction == ForwardDirection::kLocal;
  status_->AddBytes(channel->forward, local ? to_remote : to_local,
                    local ? to_local : to_remote);
}

// Everything on the local socket side; never touches libssh2.
bool SessionPump::LocalIo(Channel* channel) {
  const ForwardSpec& spec = (*specs_)[channel->forward];
  bool pinned = pending_channel_ == channel && pending_op_ == Op::kWrite;
  size_t written = 0;
  std::string why;
  Channel::LocalResult result = channel->LocalIo(pinned, &written, &why);
  if (written > 0) CountBytes(channel, 0, written);
  switch (result) {
    case Channel::LocalResult::kIdle:
      return false;
    case Channel::LocalResult::kMoved:
      return true;
    case Channel::LocalResult::kConnectFailed:
      spdlog::warn("channel {}.{}: {} connect to {} failed: {}", id_,
                   channel->id, spec.Name(), spec.connect.ToString(), why);
      status_->ChannelOpenFailed(channel->forward, "connect_failed");
      Abort(channel, "local connect failed");
      return true;
    case Channel::LocalResult::kFailed:
      Abort(channel, why.c_str());
      return true;
  }
  return false;
}

void SessionPump::Abort(Channel* channel, const char* why) {
  spdlog::debug("channel {}.{}: closing: {}", id_, channel->id, why);
  if (channel->fd >= 0) {
    close(channel->fd);
    channel->fd = -1;
  }
  channel->to_local.Consumed(channel->to_local.size());
  channel->state = channel->ssh != nullptr ? Channel::State::kClosing
                                           : Channel::State::kGone;
  if (opening_ == channel) opening_ = nullptr;
}

SessionPump::Outcome SessionPump::Failed(int rc, Op op, Channel* channel) {
  if (rc == LIBSSH2_ERROR_EAGAIN) {
    if (libssh2_session_block_directions(session_) &
        LIBSSH2_SESSION_BLOCK_OUTBOUND) {
      if (pending_op_ == Op::kNone) last_progress_ = absl::Now();
      pending_op_ = op;
      pending_channel_ = channel;
      return Outcome::kBlocked;
    }
    return Outcome::kWait;
  }
  if (rc == LIBSSH2_ERROR_BAD_USE) {
    internal_send_pending_ = true;
    return Outcome::kBlocked;
  }
  if (SessionFatal(rc) || channel == nullptr) {
    Die(ssh_->LastError("session"));
    return Outcome::kFailed;
  }
  spdlog::debug("channel {}.{}: {}", id_, channel->id,
                ssh_->LastError("channel"));
  Abort(channel, "channel error");
  return Outcome::kFailed;
}

SessionPump::Outcome SessionPump::Do(Op op, Channel* channel) {
  Outcome outcome = Outcome::kWait;
  switch (op) {
    case Op::kOpen:
      outcome = OpenChannel(channel);
      break;
    case Op::kWrite:
      outcome = WriteChannel(channel);
      break;
    case Op::kRead:
      outcome = ReadChannel(channel);
      break;
    case Op::kEof: {
      int rc = libssh2_channel_send_eof(channel->ssh);
      if (rc < 0) {
        outcome = Failed(rc, op, channel);
      } else {
        channel->eof_sent = true;
        outcome = Outcome::kDone;
      }
      break;
    }
    case Op::kClose:
      outcome = CloseChannel(channel);
      break;
    case Op::kKeepalive:
      outcome = SendKeepalive();
      break;
    case Op::kNone:
      break;
  }
  if (outcome != Outcome::kBlocked && pending_op_ == op &&
      pending_channel_ == channel) {
    pending_op_ = Op::kNone;
    pending_channel_ = nullptr;
  }
  return outcome;
}

SessionPump::Outcome SessionPump::OpenChannel(Channel* channel) {
  const ForwardSpec& spec = (*specs_)[channel->forward];
  LIBSSH2_CHANNEL* opened = libssh2_channel_direct_tcpip_ex(
      session_, spec.connect.host.c_str(), spec.connect.port, "127.0.0.1",
      channel->peer_port);
  if (opened != nullptr) {
    channel->ssh = opened;
    channel->state = Channel::State::kOpen;
    opening_ = nullptr;
    spdlog::debug("channel {}.{}: {} open", id_, channel->id, spec.Name());
    return Outcome::kDone;
  }
  int rc = libssh2_session_last_errno(session_);
  if (rc != LIBSSH2_ERROR_CHANNEL_FAILURE)
    return Failed(rc, Op::kOpen, channel);

  // The server refused this one connection (PermitOpen, or its connect to
  // the target failed): the client sees end-of-stream now, the session and
  // the other channels go on.
  absl::Status error = ssh_->LastError("channel open");
  std::string reason = "open_failed";
  if (absl::StrContains(error.message(), "prohibited")) reason = "prohibited";
  if (absl::StrContains(error.message(), "connect")) reason = "connect_failed";
  spdlog::warn("channel {}.{}: {} to {} refused: reason={} {}", id_,
               channel->id, spec.Name(), spec.connect.ToString(), reason,
               error.message());
  status_->ChannelOpenFailed(channel->forward, reason);
  opening_ = nullptr;
  Abort(channel, "open refused");
  return Outcome::kFailed;
}

SessionPump::Outcome SessionPump::WriteChannel(Channel* channel) {
  if (channel->write_len == 0) {
    size_t window = libssh2_channel_window_write(channel->ssh);
    channel->write_len =
        std::min({channel->to_remote.size(), window, kMaxWrite});
    if (channel->write_len == 0) return Outcome::kWait;
  }
  ssize_t rc = libssh2_channel_write(channel->ssh, channel->to_remote.front(),
                                     channel->write_len);
  if (rc < 0) {
    Outcome outcome = Failed(rc, Op::kWrite, channel);
    if (outcome != Outcome::kBlocked || rc == LIBSSH2_ERROR_BAD_USE) {
      channel->write_len = 0;
    }
    return outcome;
  }
  channel->write_len = 0;
  if (rc == 0) return Outcome::kWait;
  channel->to_remote.Consumed(rc);
  CountBytes(channel, rc, 0);
  return Outcome::kDone;
}

SessionPump::Outcome SessionPump::ReadChannel(Channel* channel) {
  char* back = channel->to_local.back(false);
  size_t room = channel->to_local.room();
  if (room == 0) return Outcome::kWait;
  ssize_t rc = libssh2_channel_read(channel->ssh, back, room);
  if (rc > 0) {
    channel->to_local.Appended(rc);
    last_heard_ = absl::Now();
    return Outcome::kDone;
  }
  if (rc == 0 || rc == LIBSSH2_ERROR_EAGAIN) {
    if (libssh2_channel_eof(channel->ssh) && !channel->remote_eof) {
      channel->remote_eof = true;
      return Outcome::kDone;
    }
    if (rc == 0) return Outcome::kWait;
  }
  return Failed(rc, Op::kRead, channel);
}

SessionPump::Outcome SessionPump::CloseChannel(Channel* channel) {
  // Waits (EAGAIN, inbound) until the server's CLOSE arrives, so that
  // nothing is ever sent for a channel the server already forgot.
  int rc = libssh2_channel_close(channel->ssh);
  if (rc < 0) {
    Outcome outcome = Failed(rc, Op::kClose, channel);
    if (outcome != Outcome::kFailed || dead()) return outcome;
  }
  libssh2_channel_free(channel->ssh);
  channel->ssh = nullptr;
  channel->state = Channel::State::kGone;
  return Outcome::kDone;
}

SessionPump::Outcome SessionPump::SendKeepalive() {
  // A keepalive that hits a full socket would leave libssh2 1.10 holding a
  // half-sent packet whose buffer it no longer owns; send only when the
  // socket has room.
  pollfd p{ssh_->fd(), POLLOUT, 0};
  if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) return Outcome::kWait;
  int seconds_to_next = 0;
  int rc = libssh2_keepalive_send(session_, &seconds_to_next);
  if (rc < 0) return Failed(rc, Op::kKeepalive, nullptr);
  absl::Time now = absl::Now();
  int interval = absl::ToInt64Seconds(options_.keepalive_interval);
  if (seconds_to_next >= interval) status_->KeepaliveSent(now);
  next_keepalive_ = now + absl::Seconds(std::max(1, seconds_to_next));
  return Outcome::kDone;
}

void SessionPump::StartLocalConnect(int forward, LIBSSH2_CHANNEL* ssh_channel) {
  const ForwardSpec& spec = (*specs_)[forward];
  auto channel = std::make_unique<Channel>(next_channel_id_++, forward, -1,
                                           options_.buffer_bytes);
  channel->ssh = ssh_channel;
  channel->state = Channel::State::kConnecting;
  status_->ChannelOpened(forward);

  channel->fd = ConnectNonBlocking(spec.connect);
  if (channel->fd < 0) {
    spdlog::warn("channel {}.{}: {} connect to {} failed", id_, channel->id,
                 spec.Name(), spec.connect.ToString());
    status_->ChannelOpenFailed(forward, "connect_failed");
    Abort(channel.get(), "local connect failed");
  } else {
    spdlog::debug("channel {}.{}: {} accepted", id_, channel->id, spec.Name());
  }
  channels_.push_back(std::move(channel));
}

bool SessionPump::AcceptRemote() {
  bool moved = false;
  for (auto& [forward, listener] : listeners_) {
    while (LIBSSH2_CHANNEL* accepted =
               libssh2_channel_forward_accept(listener)) {
      StartLocalConnect(forward, accepted);
      moved = true;
    }
  }
  return moved;
}

// Pulls everything the server sent into libssh2's queues, answering its
// requests, so that the socket never stays readable for nothing (which
// would make poll() spin) and the server's keepalives get answers.
void SessionPump::DrainIncoming() {
  if (keeper_ == nullptr) return;
  char scratch[256];
  libssh2_channel_read(keeper_, scratch, sizeof(scratch));
}

bool SessionPump::ChannelSends(Channel* channel, bool* blocked) {
  using State = Channel::State;
  auto run = [&](Op op) {
    Outcome outcome = Do(op, channel);
    if (outcome == Outcome::kBlocked) *blocked = true;
    return outcome == Outcome::kDone || outcome == Outcome::kFailed;
  };
  bool moved = false;
  if (channel->state == State::kOpening || channel->state == State::kGone) {
    return false;
  }
  if (channel->state == State::kClosing) return run(Op::kClose);

  if (!channel->remote_eof && channel->to_local.room() > 0) {
    moved |= run(Op::kRead);
    if (*blocked || channel->state != State::kOpen) return moved;
  }
  // Several writes in a row (libssh2 takes about 32 KiB per call), but a
  // bounded number, so that every channel gets its turn.
  for (int i = 0; i < kWritesPerTurn && !channel->to_remote.empty(); ++i) {
    if (!run(Op::kWrite)) break;
    if (*blocked || channel->state != State::kOpen) return moved;
    moved = true;
  }
  if (*blocked || channel->state != State::kOpen) return moved;
  if (channel->local_eof && channel->to_remote.empty() && !channel->eof_sent) {
    moved |= run(Op::kEof);
    if (*blocked || channel->state != State::kOpen) return moved;
  }
  if (channel->eof_sent && channel->remote_eof && channel->local_shut) {
    channel->state = State::kClosing;
    moved |= run(Op::kClose);
  }
  return moved;
}

void SessionPump::Reap() {
  auto gone = [this](const std::unique_ptr<Channel>& channel) {
    if (channel->state != Channel::State::kGone) return false;
    if (pending_channel_ == channel.get()) return false;
    if (channel->fd >= 0) close(channel->fd);
    status_->ChannelClosed(channel->forward);
    spdlog::debug("channel {}.{}: closed", id_, channel->id);
    return true;
  };
  channels_.erase(std::remove_if(channels_.begin(), channels_.end(), gone),
                  channels_.end());
}

bool SessionPump::Step(absl::Time now) {
  if (dead()) return false;
  if (socket_revents_ & (POLLERR | POLLHUP)) {
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(ssh_->fd(), SOL_SOCKET, SO_ERROR, &error, &len);
    Die(absl::UnavailableError(
        absl::StrCat("connection to the server lost: ",
                     error ? strerror(error) : "hung up")));
    return true;
  }
  bool peer_closed = socket_revents_ & POLLRDHUP;
  socket_revents_ = 0;

  bool progress = false;
  for (auto& channel : channels_) progress |= LocalIo(channel.get());

  // The send libssh2 holds half-done goes first, and alone.
  bool moved = false;
  bool blocked = false;
  if (pending_op_ != Op::kNone) {
    Outcome outcome = Do(pending_op_, pending_channel_);
    blocked = outcome == Outcome::kBlocked;
    moved = !blocked;
  }
  if (!blocked) internal_send_pending_ = false;

  if (!blocked && opening_ == nullptr) {
    for (auto& channel : channels_) {
      if (channel->state == Channel::State::kOpening) {
        opening_ = channel.get();
        last_progress_ = now;
        break;
      }
    }
  }
  if (!blocked && opening_ != nullptr) {
    Outcome outcome = Do(Op::kOpen, opening_);
    blocked = outcome == Outcome::kBlocked;
    moved |= outcome == Outcome::kDone || outcome == Outcome::kFailed;
  }
  if (!blocked) moved |= AcceptRemote();
  if (!blocked && listeners_.empty()) DrainIncoming();

  size_t count = channels_.size();
  for (size_t i = 0; i < count && !blocked && !dead(); ++i) {
    moved |= ChannelSends(channels_[(rotation_ + i) % count].get(), &blocked);
  }
  rotation_++;

  // Hand what just came off the session to the local sockets now rather
  // than one poll() later: a request/response round trip saves a wake-up.
  for (auto& channel : channels_) {
    if (!channel->to_local.empty() && !channel->local_blocked) {
      moved |= LocalIo(channel.get());
    }
  }

  if (!blocked && !dead() && now >= next_keepalive_) {
    Do(Op::kKeepalive, nullptr);
  }
  if (moved) last_progress_ = now;
  if ((pending_op_ != Op::kNone || opening_ != nullptr) &&
      now - last_progress_ > options_.stall_timeout) {
    Die(absl::UnavailableError(absl::StrCat(
        "session stalled: no progress for ",
        absl::FormatDuration(now - last_progress_), " with data waiting")));
  }
  // Keepalives ask for a reply, so a live server always has something to
  // say within an interval; libssh2 does not match the replies to the
  // requests, but any byte from the server will do.
  absl::Duration silence =
      options_.keepalive_interval * options_.keepalive_count;
  if (now - last_heard_ > silence && !dead()) {
    Die(absl::UnavailableError(absl::StrCat(
        "server silent for ", absl::FormatDuration(now - last_heard_),
        " (keepalive interval x count)")));
  }
  if (peer_closed && !moved && !dead()) {
    Die(absl::UnavailableError("the server closed the connection"));
  }
  Reap();
  return progress || moved;
}

}  // namespace migratekit::tunnel
