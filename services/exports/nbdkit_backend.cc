#include "services/exports/nbdkit_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/exports/atomic_file.h"
#include "services/exports/export_links.h"

namespace migratekit::exports {

NbdkitBackend::NbdkitBackend(Options options) : options_(std::move(options)) {}

NbdkitBackend::~NbdkitBackend() { Stop(); }

absl::Status NbdkitBackend::Start() {
  for (const std::string& dir : {options_.state_dir, options_.link_dir}) {
    absl::Status status = MakeDirectories(dir);
    if (!status.ok()) return status;
  }
  absl::StatusOr<std::map<std::string, std::string>> links =
      ScanExportLinks(options_.link_dir);
  if (!links.ok()) return links.status();
  for (const auto& [name, target] : *links) {
    recovered_.push_back({name, target, false});
  }

  bool adopt = !options_.adopt_pidfile.empty();
  ServerSupervisor::Options supervision;
  supervision.name = "nbdkit";
  supervision.listen = options_.listen;
  supervision.on_change = options_.on_change;
  supervision.adopt_only = adopt;
  supervision.pidfile = adopt ? options_.adopt_pidfile
                              : absl::StrCat(options_.state_dir, "/nbdkit.pid");
  if (!adopt) {
    supervision.argv = {
        options_.program, "--foreground",
        "--ipaddr",       options_.listen.host,
        "--port",         absl::StrCat(options_.listen.port),
        "--pidfile",      supervision.pidfile,
        "file",           absl::StrCat("dir=", options_.link_dir)};
  }
  supervisor_ = std::make_unique<ServerSupervisor>(std::move(supervision));
  return supervisor_->Start();
}

void NbdkitBackend::Stop() {
  if (supervisor_ != nullptr) supervisor_->Stop();
}

std::vector<PublishedExport> NbdkitBackend::Recovered() const {
  return recovered_;
}

absl::Status NbdkitBackend::Publish(const PublishedExport& spec) {
  if (spec.read_only) {
    return absl::FailedPreconditionError(
        "the nbdkit backend cannot serve an export read-only (its file "
        "plugin has no per-export setting); use --backend=nbd-server");
  }
  return ReplaceSymlinkAtomically(options_.link_dir, spec.name,
                                  spec.device_path);
}

absl::Status NbdkitBackend::Unpublish(const std::string& name) {
  return RemoveDurably(options_.link_dir, name);
}

bool NbdkitBackend::up() const {
  return supervisor_ != nullptr && supervisor_->up();
}

pid_t NbdkitBackend::server_pid() const {
  return supervisor_ != nullptr ? supervisor_->pid() : -1;
}

}  // namespace migratekit::exports
