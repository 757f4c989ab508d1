// One forwarded connection as the event loop sees it: the local socket
// (accepted on a -L listener, or connected for a -R channel), the SSH
// channel, a buffer each way and where each direction stands in its
// half-close. LocalIo() does the local-socket side of the work and never
// touches libssh2; SessionPump does the SSH side.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_FORWARD_CHANNEL_H_
#define MIGRATEKIT_SERVICES_TUNNEL_FORWARD_CHANNEL_H_

#include <libssh2.h>

#include <cstdint>
#include <string>

#include "services/common/net_address.h"
#include "services/tunnel/byte_ring.h"

namespace migratekit::tunnel {

struct ForwardChannel {
  ForwardChannel(int id, int forward, int fd, size_t buffer_bytes)
      : id(id),
        forward(forward),
        fd(fd),
        to_remote(buffer_bytes),
        to_local(buffer_bytes) {}

  enum class State {
    kOpening,     // a -L connection waiting for its direct-tcpip channel
    kConnecting,  // a -R channel waiting for its local connect()
    kOpen,
    kClosing,  // our CLOSE is being sent or the server's awaited
    kGone,     // freed; the pump drops it
  };

  enum class LocalResult { kIdle, kMoved, kConnectFailed, kFailed };

  // Moves what it can between the local socket and the buffers, given the
  // poll() events in `revents`: finishes a pending connect, reads into
  // to_remote (without moving its bytes if `pinned`: a retried write points
  // into them), writes from to_local, and passes the server's EOF on as
  // shutdown(SHUT_WR) once to_local is empty. Adds the bytes written to the
  // local socket to `*written`. On kConnectFailed or kFailed, `*why` says
  // what happened and the caller closes the channel.
  LocalResult LocalIo(bool pinned, size_t* written, std::string* why);

  const int id;
  const int forward;  // index into the forward specs
  int fd;
  uint16_t peer_port = 0;
  LIBSSH2_CHANNEL* ssh = nullptr;
  State state = State::kOpening;
  ByteRing to_remote;    // read from the local socket, to send on the channel
  ByteRing to_local;     // read from the channel, to write to the local socket
  size_t write_len = 0;  // length of the channel write in flight
  bool local_eof = false;      // the local socket said EOF
  bool eof_sent = false;       // ... and the channel carried it on
  bool remote_eof = false;     // the server said EOF
  bool local_shut = false;     // ... and the local socket was told
  bool local_blocked = false;  // the last send to the local socket was full
  short revents = 0;
  int poll_index = -1;
};

// A non-blocking TCP socket connecting to `target` (TCP_NODELAY, the
// connect in progress), or -1 with errno set.
int ConnectNonBlocking(const HostPort& target);

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_FORWARD_CHANNEL_H_
