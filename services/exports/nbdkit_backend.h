// nbdkit's file plugin as the NBD server of the exports: it serves every
// entry of <link_dir> as an export of that name and looks the name up at
// each new connection, so publishing, re-pointing and removing an export
// is only a change of its link, with no signal and no restart.
//
// The file plugin has no per-export read-only setting: read_only exports
// are refused with FAILED_PRECONDITION on this backend.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_NBDKIT_BACKEND_H_
#define MIGRATEKIT_SERVICES_EXPORTS_NBDKIT_BACKEND_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "services/exports/export_backend.h"
#include "services/exports/server_supervisor.h"

namespace migratekit::exports {

class NbdkitBackend final : public ExportBackend {
 public:
  struct Options {
    HostPort listen;
    // Holds the pid file.
    std::string state_dir;
    std::string link_dir;
    std::string program = "/usr/bin/nbdkit";
    // Adopt the server from this pid file instead of running one.
    std::string adopt_pidfile;
    std::function<void(bool up)> on_change;
  };

  explicit NbdkitBackend(Options options);
  ~NbdkitBackend() override;

  absl::Status Start() override;
  void Stop() override;
  std::vector<PublishedExport> Recovered() const override;
  absl::Status Publish(const PublishedExport& spec) override;
  absl::Status Unpublish(const std::string& name) override;
  bool up() const override;
  pid_t server_pid() const override;
  int64_t reloads() const override { return 0; }
  int64_t restarts() const override { return 0; }
  const HostPort& listen() const override { return options_.listen; }
  std::string program() const override { return "nbdkit"; }

 private:
  const Options options_;
  std::unique_ptr<ServerSupervisor> supervisor_;
  std::vector<PublishedExport> recovered_;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_NBDKIT_BACKEND_H_
