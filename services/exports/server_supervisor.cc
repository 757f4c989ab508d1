#include "services/exports/server_supervisor.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/logging.h"

extern char** environ;

namespace migratekit::exports {
namespace {

// A restart soon after the previous start waits this long, so that a
// server that cannot start does not spin.
constexpr absl::Duration kRestartBackoff = absl::Seconds(1);

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

bool Readable(int fd) {
  struct pollfd entry = {fd, POLLIN, 0};
  return poll(&entry, 1, 0) > 0;
}

bool Accepts(const HostPort& address) {
  std::string port = absl::StrCat(address.port);
  struct addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found) != 0) {
    return false;
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool connected =
      fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return connected;
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The program a live process runs, "" when there is none.
std::string ProgramOf(pid_t pid) {
  char target[4096];
  std::string link = absl::StrCat("/proc/", pid, "/exe");
  ssize_t length = readlink(link.c_str(), target, sizeof(target) - 1);
  if (length <= 0) return "";
  return Basename(std::string(target, length));
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit=", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal=", WTERMSIG(status));
  return "status=unknown";
}

}  // namespace

ServerSupervisor::ServerSupervisor(Options options)
    : options_(std::move(options)) {}

ServerSupervisor::~ServerSupervisor() { Stop(); }

absl::Status ServerSupervisor::Start() {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  log_read_fd_ = pair[0];
  log_write_fd_ = pair[1];
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  relay_ = std::thread([this] { RelayOutput(); });

  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (!AdoptFromPidfileLocked() && !options_.adopt_only) {
      status = StartProcessLocked();
    } else if (process_.pid < 0) {
      status = absl::UnavailableError(absl::StrCat(
          options_.name, ": no live process in pid file ", options_.pidfile));
    }
  }
  watcher_ = std::thread([this] { Run(); });
  return status;
}

void ServerSupervisor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || wake_fd_ < 0) return;
    stopping_ = true;
    if (process_.pid > 0 && !options_.adopt_only) {
      spdlog::info("{}: stopping pid={}", options_.name, process_.pid);
      kill(process_.pid, SIGTERM);
      struct pollfd entry = {process_.pidfd, POLLIN, 0};
      poll(&entry, 1, 5000);
      if (process_.child) waitpid(process_.pid, nullptr, WNOHANG);
    }
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (watcher_.joinable()) watcher_.join();
  shutdown(log_read_fd_, SHUT_RDWR);
  if (relay_.joinable()) relay_.join();
}

absl::Status ServerSupervisor::Signal(int signal) {
  absl::MutexLock lock(&mu_);
  if (process_.pid < 0) {
    return absl::UnavailableError(absl::StrCat(options_.name, " is down"));
  }
  if (kill(process_.pid, signal) != 0) {
    return absl::UnavailableError(
        absl::StrCat(options_.name, ": cannot signal pid ", process_.pid, ": ",
                     strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ServerSupervisor::Restart() {
  absl::MutexLock lock(&mu_);
  if (options_.adopt_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(options_.name, " is adopted; it is not ours to restart"));
  }
  const int64_t old_generation = generation_;
  if (process_.pid > 0) {
    spdlog::info("{}: restarting pid={}", options_.name, process_.pid);
    restart_requested_ = true;
    kill(process_.pid, SIGKILL);
  }
  auto replaced = [this, old_generation]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || (generation_ > old_generation && up_);
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&replaced),
                            options_.start_timeout)) {
    return absl::UnavailableError(
        absl::StrCat(options_.name, " did not come back after a restart"));
  }
  return absl::OkStatus();
}

bool ServerSupervisor::up() const { return up_.load(); }

pid_t ServerSupervisor::pid() const {
  absl::MutexLock lock(&mu_);
  return process_.pid;
}

int64_t ServerSupervisor::generation() const { return generation_.load(); }

int64_t ServerSupervisor::unexpected_exits() const {
  absl::MutexLock lock(&mu_);
  return unexpected_exits_;
}

void ServerSupervisor::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    int timeout_ms =
        static_cast<int>(absl::ToInt64Milliseconds(options_.check_interval));
    if (process_.pid < 0) {
      absl::Duration wait = last_start_ + kRestartBackoff - absl::Now();
      if (options_.adopt_only ||
          (wait > absl::ZeroDuration() && !restart_requested_)) {
        timeout_ms = options_.adopt_only
                         ? 1000
                         : static_cast<int>(absl::ToInt64Milliseconds(wait));
      } else {
        absl::Status status = StartProcessLocked();
        restart_requested_ = false;
        if (!status.ok()) {
          SetUpLocked(false);
          spdlog::error("{}: {}", options_.name, status);
        }
        continue;
      }
    }

    struct pollfd entries[2] = {{wake_fd_, POLLIN, 0},
                                {process_.pidfd, POLLIN, 0}};
    mu_.Unlock();
    int ready = poll(entries, process_.pidfd >= 0 ? 2 : 1, timeout_ms);
    mu_.Lock();
    if (entries[0].revents != 0) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
    }
    if (stopping_) break;
    if (process_.pid > 0 && Readable(process_.pidfd)) {
      HandleExitLocked();
    } else if (ready == 0 && process_.pid > 0) {
      PeriodicCheckLocked();
    }
    if (process_.pid < 0 && options_.adopt_only) AdoptFromPidfileLocked();
  }
}

absl::Status ServerSupervisor::StartProcessLocked() {
  if (options_.before_start) {
    absl::Status status = options_.before_start(generation_ + 1);
    if (!status.ok()) return status;
  }
  unlink(options_.pidfile.c_str());

  std::vector<char*> argv;
  for (const std::string& arg : options_.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    envp.push_back(*entry);
  }
  for (const std::string& entry : options_.env) {
    envp.push_back(const_cast<char*>(entry.c_str()));
  }
  envp.push_back(nullptr);

  // Output goes to the relay; the process gets its own session (a Ctrl-C
  // for export-manager is not for it) and an empty signal mask: the
  // manager's threads block SIGTERM and SIGHUP, the server must not.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_write_fd_, 1);
  posix_spawn_file_actions_adddup2(&actions, log_write_fd_, 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attributes, &signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  posix_spawnattr_setsigdefault(&attributes, &signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETSID);
  pid_t pid;
  int error = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(),
                          envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  last_start_ = absl::Now();
  if (error != 0) {
    return absl::UnavailableError(absl::StrCat(options_.name, ": cannot start ",
                                               argv[0], ": ", strerror(error)));
  }

  process_ = {pid, PidfdOpen(pid), true};
  ++generation_;
  spdlog::info("{}: started pid={}", options_.name, pid);
  return WaitAcceptingLocked();
}

bool ServerSupervisor::AdoptFromPidfileLocked() {
  std::ifstream file(options_.pidfile);
  std::string text;
  int pid = 0;
  if (!std::getline(file, text) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 1) {
    return false;
  }
  std::string program = ProgramOf(pid);
  if (program.empty() ||
      (!options_.argv.empty() && program != Basename(options_.argv[0]))) {
    return false;
  }
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) return false;

  process_ = {pid, pidfd, false};
  ++generation_;
  spdlog::info("{}: adopted pid={} from {}", options_.name, pid,
               options_.pidfile);
  return WaitAcceptingLocked().ok();
}

absl::Status ServerSupervisor::CheckLocked() {
  if (!options_.health_check) {
    return Accepts(options_.listen)
               ? absl::OkStatus()
               : absl::UnavailableError(absl::StrCat(
                     "nothing accepts on ", options_.listen.ToString()));
  }
  // The check talks to the server (it may take seconds): callers of up(),
  // pid() and Restart() must not wait for it.
  mu_.Unlock();
  absl::Status status = options_.health_check();
  mu_.Lock();
  return status;
}

// A live process that no longer serves (nbd-server 3.24 after a reload
// that corrupted its heap) is replaced like a dead one.
void ServerSupervisor::PeriodicCheckLocked() {
  absl::Status status = CheckLocked();
  failed_checks_ = status.ok() ? 0 : failed_checks_ + 1;
  if (status.ok()) SetUpLocked(true);
  if (failed_checks_ < 2) return;
  failed_checks_ = 0;
  if (options_.adopt_only) {
    SetUpLocked(false);
    spdlog::error("{}: pid={} does not serve: {}", options_.name, process_.pid,
                  status.message());
    return;
  }
  spdlog::error("{}: pid={} does not serve, replacing it: {}", options_.name,
                process_.pid, status.message());
  ++unexpected_exits_;
  restart_requested_ = true;
  kill(process_.pid, SIGKILL);
}

absl::Status ServerSupervisor::WaitAcceptingLocked() {
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  while (!CheckLocked().ok()) {
    if (Readable(process_.pidfd)) {
      return absl::UnavailableError(absl::StrCat(
          options_.name, " exited before accepting connections on ",
          options_.listen.ToString(), "; see its log lines"));
    }
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(absl::StrCat(
          options_.name, " does not serve on ", options_.listen.ToString(),
          ": ", CheckLocked().message()));
    }
    mu_.Unlock();
    absl::SleepFor(absl::Milliseconds(10));
    mu_.Lock();
  }
  SetUpLocked(true);
  return absl::OkStatus();
}

void ServerSupervisor::HandleExitLocked() {
  std::string how = "adopted process ended";
  if (process_.child) {
    int status = 0;
    if (waitpid(process_.pid, &status, 0) == process_.pid) {
      how = DescribeExit(status);
    }
  }
  bool expected = restart_requested_ || stopping_;
  if (expected) {
    spdlog::info("{}: exited pid={} {}", options_.name, process_.pid, how);
  } else {
    ++unexpected_exits_;
    spdlog::error("{}: died pid={} {}", options_.name, process_.pid, how);
  }
  close(process_.pidfd);
  process_ = Process();
  // A replacement asked for is not an outage: the new process follows at
  // once (or the start fails, which does mark it down).
  if (!restart_requested_) SetUpLocked(false);
}

void ServerSupervisor::SetUpLocked(bool up) {
  if (up == up_.load()) return;
  up_.store(up);
  if (options_.on_change) options_.on_change(up);
}

void ServerSupervisor::RelayOutput() {
  char buffer[4096];
  // nbdkit writes one line in several pieces: log whole lines only.
  std::string pending;
  while (true) {
    ssize_t length = recv(log_read_fd_, buffer, sizeof(buffer), 0);
    if (length < 0 && errno == EINTR) continue;
    if (length <= 0) break;
    pending.append(buffer, length);
    size_t end = pending.rfind('\n');
    if (end == std::string::npos) {
      if (pending.size() < sizeof(buffer)) continue;
      end = pending.size() - 1;
    }
    std::string complete = pending.substr(0, end + 1);
    pending.erase(0, end + 1);
    for (absl::string_view line :
         absl::StrSplit(complete, '\n', absl::SkipWhitespace())) {
      // nbd-server's lines carry "<priority> " from the relay library.
      int priority = 5;
      if (line.size() > 4 && line[0] == '<' && line[2] == '>') {
        priority = line[1] - '0';
        line.remove_prefix(4);
      }
      auto level = priority <= 4   ? spdlog::level::warn
                   : priority == 5 ? spdlog::level::info
                                   : spdlog::level::debug;
      spdlog::log(level, "{}: {}", options_.name, Quoted(line, 300));
    }
  }
}

}  // namespace migratekit::exports
