// Debian 12's nbd-server (3.24) as the NBD server of the exports.
//
// Each export is a file <include_dir>/<name>.conf naming the link
// <link_dir>/<name>. Deleting removes the link (new connections to the
// name fail at once) and the file (a later server does not know the name).
// Re-creating a name the running server already knows only re-points the
// link: no reload at all.
//
// A new name needs a reload, and 3.24's SIGHUP reload is broken: measured
// here, once the server has four or more exports, the first SIGHUP that
// adds one leaves every new connection failing (children die of heap
// corruption), and the main process dies after a dozen. So by default a
// reload replaces the main process: SIGKILL (its forked connections, the
// running transfers, carry on untouched), then a new process that reads
// every export's file and binds the port at once. New connections are
// refused for the few milliseconds in between. Reloads are coalesced
// (ReloadCoalescer): many creates at once cost one or two replacements.
// ReloadMode::kSighup keeps the signal for servers known to be fixed (3.25
// and later), still replacing the process after `max_reloads_per_process`
// signals; an adopted server can only be signalled.
//
// TODO: a replacement refuses new connections (and resets ones the old
// process had not accepted yet) until the new process accepts, which
// takes nbd-server 0.5 to 1 s after its start here; clients must retry a
// connect that falls into it, and creates wait for it. Starting the new
// process first, with SO_REUSEPORT set by the preloaded relay library,
// and killing the old one once the new one serves the new name, would
// close that window.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_BACKEND_H_
#define MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_BACKEND_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/exports/export_backend.h"
#include "services/exports/reload_coalescer.h"
#include "services/exports/server_supervisor.h"

namespace migratekit::exports {

class NbdServerBackend final : public ExportBackend {
 public:
  struct Options {
    HostPort listen;
    // Holds the generated config, the placeholder export, the pid file.
    std::string state_dir;
    std::string include_dir;
    std::string link_dir;
    std::string program = "/usr/bin/nbd-server";
    // Preloaded into nbd-server to keep it in the foreground and relay its
    // syslog lines; empty to run it without (then its messages are lost).
    std::string relay_library;
    // Adopt the server from this pid file instead of running one.
    std::string adopt_pidfile;
    enum class ReloadMode { kRestart, kSighup };
    ReloadMode reload_mode = ReloadMode::kRestart;
    // With kSighup: signals one process may take before it is replaced.
    int max_reloads_per_process = 8;
    std::function<void(bool up)> on_change;
  };

  explicit NbdServerBackend(Options options);
  ~NbdServerBackend() override;

  absl::Status Start() override;
  void Stop() override;
  std::vector<PublishedExport> Recovered() const override;
  absl::Status Publish(const PublishedExport& spec) override;
  absl::Status Unpublish(const std::string& name) override;
  bool up() const override;
  pid_t server_pid() const override;
  int64_t reloads() const override;
  int64_t restarts() const override;
  const HostPort& listen() const override { return options_.listen; }
  std::string program() const override { return "nbd-server"; }

 private:
  absl::Status Recover();
  absl::Status BeforeStart(int64_t generation);
  absl::Status WriteBaseConfig();
  absl::Status CheckPlaceholder();
  absl::Status Reload();
  std::string ConfigPath() const;

  const Options options_;
  std::unique_ptr<ServerSupervisor> supervisor_;
  std::unique_ptr<ReloadCoalescer> coalescer_;
  std::vector<PublishedExport> recovered_;

  mutable absl::Mutex mu_;
  // Per server process (supervisor generation): the export files there
  // were when it started, name -> read_only. It serves at least these, with
  // these settings, until it ends: SIGHUP neither removes nor changes.
  std::map<int64_t, std::map<std::string, bool>> known_ ABSL_GUARDED_BY(mu_);
  bool restart_next_ ABSL_GUARDED_BY(mu_) = false;
  int64_t signalled_generation_ ABSL_GUARDED_BY(mu_) = -1;
  int signals_to_process_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t restarts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_BACKEND_H_
