#include "services/tunnel/ssh_session.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/tunnel/host_key.h"

namespace migratekit::tunnel {
namespace {

// Connections the server forwarded that libssh2 holds until the loop
// accepts them; past this it refuses them. The loop accepts at every step,
// but one read can bring in a burst of opens.
constexpr int kAcceptQueue = 1024;

constexpr char kHostKeyPreference[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
    "ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa";

absl::Status Errno(absl::string_view what, int error) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(error)));
}

void SetSocketOptions(int fd, const SshOptions& options) {
  int on = 1;
  int interval =
      std::max<int>(1, absl::ToInt64Seconds(options.keepalive_interval));
  int count = std::max(1, options.keepalive_count);
  unsigned int user_timeout = interval * count * 1000;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &interval, sizeof(interval));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
             sizeof(user_timeout));
}

// A connected non-blocking TCP socket to one of `server`'s addresses.
absl::StatusOr<int> ConnectTcp(const SshOptions& options, DialError* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options.server.port);
  int rc =
      getaddrinfo(options.server.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    error->reason = "resolve";
    return absl::UnavailableError(
        absl::StrCat("resolve ", options.server.host, ": ", gai_strerror(rc)));
  }
  error->reason = "connect";
  absl::Status last = absl::UnavailableError("no address");
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    a->ai_protocol);
    if (fd < 0) continue;
    SetSocketOptions(fd, options);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Errno(absl::StrCat("connect ", options.server.ToString()), errno);
      close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int timeout_ms = absl::ToInt64Milliseconds(options.connect_timeout);
    int soerror = ETIMEDOUT;
    if (poll(&p, 1, timeout_ms) == 1) {
      socklen_t len = sizeof(soerror);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerror, &len);
    }
    if (soerror == 0) {
      freeaddrinfo(found);
      return fd;
    }
    last = Errno(absl::StrCat("connect ", options.server.ToString()), soerror);
    close(fd);
  }
  freeaddrinfo(found);
  return last;
}

}  // namespace

void InitLibssh2() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

absl::Status CheckIdentityFile(const std::string& path) {
  struct stat st;
  if (path.empty()) {
    return absl::InvalidArgumentError("--identity: no private key file given");
  }
  if (stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--identity ", path, ": ", strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--identity %s: permissions %04o are too open, the key must not be "
        "accessible by group or others (chmod 600)",
        path, st.st_mode & 07777));
  }
  if (access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--identity ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

std::unique_ptr<SshSession> SshSession::Dial(const SshOptions& options,
                                             DialError* error) {
  InitLibssh2();
  std::unique_ptr<SshSession> ssh(new SshSession());
  absl::StatusOr<int> fd = ConnectTcp(options, error);
  if (!fd.ok()) {
    error->status = fd.status();
    return nullptr;
  }
  ssh->fd_ = *fd;
  absl::Status status = ssh->Handshake(options, error);
  if (!status.ok()) {
    error->status = status;
    return nullptr;
  }
  return ssh;
}

absl::Status SshSession::Handshake(const SshOptions& options,
                                   DialError* error) {
  session_ = libssh2_session_init();
  if (session_ == nullptr) {
    error->reason = "handshake";
    return absl::ResourceExhaustedError("libssh2_session_init failed");
  }
  libssh2_session_set_blocking(session_, 1);
  libssh2_session_set_timeout(
      session_, absl::ToInt64Milliseconds(options.connect_timeout));

  error->reason = "handshake";
  const std::pair<int, const std::string*> prefs[] = {
      {LIBSSH2_METHOD_CRYPT_CS, &options.ciphers},
      {LIBSSH2_METHOD_CRYPT_SC, &options.ciphers},
      {LIBSSH2_METHOD_MAC_CS, &options.macs},
      {LIBSSH2_METHOD_MAC_SC, &options.macs},
  };
  for (const auto& [method, value] : prefs) {
    if (libssh2_session_method_pref(session_, method, value->c_str()) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cipher/mac preference \"", *value,
                       "\" has nothing libssh2 supports"));
    }
  }
  libssh2_session_method_pref(session_, LIBSSH2_METHOD_HOSTKEY,
                              kHostKeyPreference);
  if (libssh2_session_handshake(session_, fd_) != 0) {
    return LastError("ssh handshake");
  }
  const char* cipher =
      libssh2_session_methods(session_, LIBSSH2_METHOD_CRYPT_CS);
  const char* mac = libssh2_session_methods(session_, LIBSSH2_METHOD_MAC_CS);
  cipher_ = cipher ? cipher : "";
  mac_ = mac ? mac : "";

  error->reason = "host_key";
  absl::Status host_key = CheckHostKey(options);
  if (!host_key.ok()) return host_key;

  error->reason = "auth";
  int rc = libssh2_userauth_publickey_fromfile_ex(
      session_, options.user.data(), options.user.size(), nullptr,
      options.identity.c_str(), nullptr);
  if (rc != 0) {
    absl::Status status = LastError(absl::StrCat(
        "authentication as ", options.user, " with ", options.identity));
    return absl::PermissionDeniedError(status.message());
  }
  return absl::OkStatus();
}

absl::Status SshSession::CheckHostKey(const SshOptions& options) {
  size_t length = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session_, &length, &type);
  const char* digest =
      libssh2_hostkey_hash(session_, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (key == nullptr || digest == nullptr) {
    return absl::UnavailableError("the server sent no host key");
  }
  fingerprint_ = FingerprintFromSha256(absl::string_view(digest, 32));
  if (!options.host_key_fingerprint.empty()) {
    return CheckFingerprint(options.host_key_fingerprint, fingerprint_);
  }
  std::ifstream file(options.known_hosts);
  if (!file) {
    return absl::FailedPreconditionError(
        absl::StrCat("--known_hosts ", options.known_hosts, ": ",
                     strerror(errno), "; server offered ", fingerprint_));
  }
  std::stringstream text;
  text << file.rdbuf();
  return CheckKnownHosts(text.str(), options.server,
                         absl::string_view(key, length), fingerprint_);
}

absl::StatusOr<LIBSSH2_LISTENER*> SshSession::ListenRemote(
    const ForwardSpec& spec) {
  int bound = 0;
  LIBSSH2_LISTENER* listener =
      libssh2_channel_forward_listen_ex(session_, spec.listen.host.c_str(),
                                        spec.listen.port, &bound, kAcceptQueue);
  if (listener == nullptr) return LastError("tcpip-forward");
  return listener;
}

void SshSession::OpenKeeper() {
  keeper_ = libssh2_channel_open_session(session_);
}

void SshSession::StartNonBlocking(absl::Duration keepalive_interval) {
  libssh2_keepalive_config(
      session_, 1, std::max<int>(1, absl::ToInt64Seconds(keepalive_interval)));
  libssh2_session_set_blocking(session_, 0);
}

absl::Status SshSession::LastError(absl::string_view what) const {
  char* message = nullptr;
  int code = libssh2_session_last_error(session_, &message, nullptr, 0);
  std::string text = absl::StrCat(what, ": ", message ? message : "?",
                                  " (libssh2 error ", code, ")");
  if (code == LIBSSH2_ERROR_REQUEST_DENIED) {
    return absl::PermissionDeniedError(text);
  }
  return absl::UnavailableError(text);
}

SshSession::~SshSession() {
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  if (session_ != nullptr) {
    libssh2_session_set_blocking(session_, 1);
    libssh2_session_free(session_);
  }
  if (fd_ >= 0) close(fd_);
}

}  // namespace migratekit::tunnel
