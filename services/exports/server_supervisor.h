// Keeps one NBD server process (nbd-server or nbdkit) running and says when
// it is not. The process is either started here (supervised) or adopted
// from a pid file (another unit runs it). Its death is seen at once through
// a pidfd, not by polling.
//
// When supervised and the process dies (a crash, a SIGKILL, or Restart()),
// a new one is started at once from the same arguments; the NBD server
// re-reads every export from its files, and connections that the old main
// process had forked go on untouched. Output of the process (stderr, and
// nbd-server's syslog lines through the preloaded relay) is logged as
// "<name>: ..." lines.
//
// On start the pid file is checked first: a live process of the same
// program left by an earlier export-manager (killed before it could stop
// it) is adopted, not duplicated, so its running transfers keep going.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_SERVER_SUPERVISOR_H_
#define MIGRATEKIT_SERVICES_EXPORTS_SERVER_SUPERVISOR_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/net_address.h"

namespace migratekit::exports {

class ServerSupervisor {
 public:
  struct Options {
    // For logs: "nbd-server" or "nbdkit".
    std::string name;
    // The program and its arguments; empty when adopting only.
    std::vector<std::string> argv;
    // Added to the environment of the started process ("KEY=value").
    std::vector<std::string> env;
    // The pid file the process writes (and that an adopted one is found
    // through).
    std::string pidfile;
    // Never start the process; follow whatever the pid file names.
    bool adopt_only = false;
    // Where the server accepts connections; it is up once this accepts.
    HostPort listen;
    // Called before every start (for example to write the base config),
    // with the generation() the new process will have.
    std::function<absl::Status(int64_t generation)> before_start;
    // Whether the process serves, asked right after a start and every
    // `check_interval` while it is up; a process that fails it twice in a
    // row is replaced (when supervised). Empty: a TCP connect is the check.
    std::function<absl::Status()> health_check;
    absl::Duration check_interval = absl::Seconds(2);
    // Called on every change of up(), from the supervisor's thread, with
    // the supervisor's lock held: it may call up() but nothing else here.
    std::function<void(bool up)> on_change;
    // How long a started process has to accept connections.
    absl::Duration start_timeout = absl::Seconds(20);
  };

  explicit ServerSupervisor(Options options);
  ~ServerSupervisor();

  ServerSupervisor(const ServerSupervisor&) = delete;
  ServerSupervisor& operator=(const ServerSupervisor&) = delete;

  // Starts or adopts the process and waits until it accepts connections.
  absl::Status Start();

  // Stops following the process; a process started here gets SIGTERM
  // (which ends its transfers too: nbd-server's children follow it).
  void Stop();

  // Sends `signal` to the main process. FAILED_PRECONDITION when down.
  absl::Status Signal(int signal);

  // Replaces the main process by a new one: SIGKILL (its forked
  // connections continue, PLATFORM), then a start; returns once the new
  // one accepts connections. Only when supervised.
  absl::Status Restart();

  bool up() const;
  pid_t pid() const;
  // Counts processes seen so far; changes whenever the main process does.
  int64_t generation() const;
  // Deaths of the main process that were not asked for.
  int64_t unexpected_exits() const;

 private:
  struct Process {
    pid_t pid = -1;
    int pidfd = -1;
    bool child = false;
  };

  void Run();
  absl::Status StartProcessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AdoptFromPidfileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WaitAcceptingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleExitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PeriodicCheckLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetUpLocked(bool up) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RelayOutput();

  const Options options_;
  int log_read_fd_ = -1;
  int log_write_fd_ = -1;
  int wake_fd_ = -1;
  std::thread watcher_;
  std::thread relay_;

  mutable absl::Mutex mu_;
  Process process_ ABSL_GUARDED_BY(mu_);
  // Written under mu_, read without it: callers of up() may hold their own
  // locks that on_change (called under mu_) takes.
  std::atomic<bool> up_{false};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool restart_requested_ ABSL_GUARDED_BY(mu_) = false;
  // Written under mu_, read without it (see up_).
  std::atomic<int64_t> generation_{0};
  int64_t unexpected_exits_ ABSL_GUARDED_BY(mu_) = 0;
  int failed_checks_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_SERVER_SUPERVISOR_H_
