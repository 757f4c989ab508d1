#include "services/tunnel/forward_channel.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace migratekit::tunnel {

ForwardChannel::LocalResult ForwardChannel::LocalIo(bool pinned,
                                                    size_t* written,
                                                    std::string* why) {
  bool moved = false;
  if (state == State::kConnecting) {
    if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return LocalResult::kIdle;
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      *why = strerror(error);
      return LocalResult::kConnectFailed;
    }
    state = State::kOpen;
    moved = true;
  }

  if (!local_eof && state != State::kClosing &&
      (revents & (POLLIN | POLLHUP | POLLERR))) {
    char* back = to_remote.back(pinned);
    size_t room = to_remote.room();
    if (room > 0) {
      ssize_t n = recv(fd, back, room, 0);
      if (n > 0) {
        to_remote.Appended(n);
        moved = true;
      } else if (n == 0) {
        local_eof = true;
        moved = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        *why = std::string("local read: ") + strerror(errno);
        return LocalResult::kFailed;
      }
    }
  }

  if (!to_local.empty() && !local_blocked && state == State::kOpen) {
    ssize_t n = send(fd, to_local.front(), to_local.size(), MSG_NOSIGNAL);
    if (n > 0) {
      to_local.Consumed(n);
      *written += n;
      moved = true;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      local_blocked = true;
    } else if (n < 0) {
      *why = std::string("local write: ") + strerror(errno);
      return LocalResult::kFailed;
    }
  }

  if (remote_eof && to_local.empty() && !local_shut && state == State::kOpen) {
    shutdown(fd, SHUT_WR);
    local_shut = true;
    moved = true;
  }
  revents = 0;
  return moved ? LocalResult::kMoved : LocalResult::kIdle;
}

int ConnectNonBlocking(const HostPort& target) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(target.port);
  if (getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found) != 0) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int fd =
      socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (connect(fd, found->ai_addr, found->ai_addrlen) != 0 &&
        errno != EINPROGRESS) {
      int error = errno;
      close(fd);
      fd = -1;
      errno = error;
    }
  }
  freeaddrinfo(found);
  return fd;
}

}  // namespace migratekit::tunnel
