#include "services/common/systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace migratekit {
namespace {

// A datagram socket standing where systemd's notify socket would be.
class NotifySocket {
 public:
  NotifySocket() {
    // Bazel's TEST_TMPDIR is too long for a socket address.
    char dir[] = "/tmp/notify.XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/notify.sock";
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
              0);
    timeval timeout = {2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

  // The next message, or "" after two seconds of nothing.
  std::string Receive() {
    char buffer[256];
    ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    return n > 0 ? std::string(buffer, n) : "";
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

TEST(SystemdNotifier, SaysReadyPingsTheWatchdogAndSaysStopping) {
  NotifySocket socket;
  setenv("NOTIFY_SOCKET", socket.path().c_str(), 1);
  setenv("WATCHDOG_USEC", "100000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);

  SystemdNotifier notifier;
  notifier.Ready();
  EXPECT_EQ(socket.Receive(), "READY=1");
  EXPECT_EQ(socket.Receive(), "WATCHDOG=1");
  EXPECT_EQ(socket.Receive(), "WATCHDOG=1");
  notifier.Stopping();
  std::string last;
  for (std::string message = socket.Receive(); !message.empty();
       message = socket.Receive()) {
    last = message;
    if (last == "STOPPING=1") break;
  }
  EXPECT_EQ(last, "STOPPING=1");
}

TEST(SystemdNotifier, WithholdsPingsWhileNotAlive) {
  NotifySocket socket;
  setenv("NOTIFY_SOCKET", socket.path().c_str(), 1);
  setenv("WATCHDOG_USEC", "100000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);

  std::atomic<bool> alive{false};
  SystemdNotifier notifier([&] { return alive.load(); });
  notifier.Ready();
  EXPECT_EQ(socket.Receive(), "READY=1");
  // Two seconds of silence while stuck.
  EXPECT_EQ(socket.Receive(), "");
  alive = true;
  EXPECT_EQ(socket.Receive(), "WATCHDOG=1");
}

TEST(SystemdNotifier, DoesNothingOutsideSystemd) {
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  SystemdNotifier notifier;
  notifier.Ready();
  notifier.Stopping();
}

}  // namespace
}  // namespace migratekit
