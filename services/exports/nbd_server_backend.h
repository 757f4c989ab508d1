// Debian 12's nbd-server (3.24) as the NBD server of the exports.
//
// Each export is a file <include_dir>/<name>.conf naming the link
// <link_dir>/<name>; a reload (SIGHUP) makes the server read new files.
// SIGHUP only adds, so deleting removes the link (new connections to the
// name fail at once) and the file (a restarted server does not know the
// name). Re-creating a name re-points the link.
//
// 3.24 crashes after a dozen or so SIGHUPs. Reloads are therefore
// coalesced (ReloadCoalescer), and a server that has taken
// `max_reloads_per_process` signals is replaced by a new one instead of
// being signalled again: SIGKILL to the main process, whose forked
// connections carry on, then a new process that reads every export's file.
// An unexpected death is handled the same way by the supervisor.
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
    // SIGHUPs one process may take before it is replaced instead.
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
  absl::Status WriteBaseConfig();
  absl::Status Reload();
  std::string ConfigPath() const;

  const Options options_;
  std::unique_ptr<ServerSupervisor> supervisor_;
  std::unique_ptr<ReloadCoalescer> coalescer_;
  std::vector<PublishedExport> recovered_;

  mutable absl::Mutex mu_;
  // read_only of every name any server of ours was told about: nbd-server
  // keeps a name's first settings across SIGHUPs.
  std::map<std::string, bool> told_read_only_ ABSL_GUARDED_BY(mu_);
  bool restart_next_ ABSL_GUARDED_BY(mu_) = false;
  int64_t signalled_generation_ ABSL_GUARDED_BY(mu_) = -1;
  int signals_to_process_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t restarts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_BACKEND_H_
