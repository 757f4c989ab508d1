// The benchmark's reference point (b): the simplest libssh2 forwarder, one
// connection and one channel at a time, blocking calls only. It shows what
// libssh2 itself can carry on this machine; tunnel-manager is measured
// against it. Not for production: no host key check, no error recovery.
//
//   libssh2_forwarder SSH_PORT USER IDENTITY LISTEN_PORT TARGET_PORT
//
// Each accepted connection is carried request-then-response: everything
// the client sends until its EOF, then everything the server answers until
// its EOF (enough for a one-way stream into a sink).
#include <arpa/inet.h>
#include <libssh2.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

int Fail(const char* what) {
  std::fprintf(stderr, "libssh2_forwarder: %s\n", what);
  return 1;
}

int Listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 16) != 0) {
    return -1;
  }
  return fd;
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))) {
    return -1;
  }
  return fd;
}

void Carry(LIBSSH2_SESSION* session, int client, int target_port) {
  LIBSSH2_CHANNEL* channel = libssh2_channel_direct_tcpip_ex(
      session, "127.0.0.1", target_port, "127.0.0.1", 0);
  if (channel == nullptr) return;
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    ssize_t n = read(client, buffer.data(), buffer.size());
    if (n <= 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t rc =
          libssh2_channel_write(channel, buffer.data() + done, n - done);
      if (rc < 0) return;
      done += rc;
    }
  }
  libssh2_channel_send_eof(channel);
  for (;;) {
    ssize_t n = libssh2_channel_read(channel, buffer.data(), buffer.size());
    if (n <= 0) break;
    if (write(client, buffer.data(), n) != n) break;
  }
  libssh2_channel_close(channel);
  libssh2_channel_free(channel);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    return Fail("usage: SSH_PORT USER IDENTITY LISTEN_PORT TARGET_PORT");
  }
  libssh2_init(0);
  int ssh_fd = Connect(std::atoi(argv[1]));
  if (ssh_fd < 0) return Fail("connect to sshd failed");
  LIBSSH2_SESSION* session = libssh2_session_init();
  libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr");
  libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_SC, "aes128-ctr");
  libssh2_session_method_pref(session, LIBSSH2_METHOD_MAC_CS, "hmac-sha2-256");
  libssh2_session_method_pref(session, LIBSSH2_METHOD_MAC_SC, "hmac-sha2-256");
  if (libssh2_session_handshake(session, ssh_fd) != 0) {
    return Fail("handshake failed");
  }
  if (libssh2_userauth_publickey_fromfile(session, argv[2], nullptr, argv[3],
                                          nullptr) != 0) {
    return Fail("authentication failed");
  }
  int listener = Listen(std::atoi(argv[4]));
  if (listener < 0) return Fail("listen failed");
  for (;;) {
    int client = accept(listener, nullptr, nullptr);
    if (client < 0) continue;
    Carry(session, client, std::atoi(argv[5]));
    close(client);
  }
}
