#include "services/exports/nbd_server_backend.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/logging.h"
#include "services/exports/atomic_file.h"
#include "services/exports/export_links.h"
#include "services/exports/nbd_probe.h"
#include "services/exports/nbd_server_config.h"

namespace migratekit::exports {
namespace {

constexpr size_t kPlaceholderBytes = 4096;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

NbdServerBackend::NbdServerBackend(Options options)
    : options_(std::move(options)) {}

NbdServerBackend::~NbdServerBackend() { Stop(); }

std::string NbdServerBackend::ConfigPath() const {
  return absl::StrCat(options_.state_dir, "/nbd-server.conf");
}

absl::Status NbdServerBackend::Start() {
  for (const std::string& dir :
       {options_.state_dir, options_.include_dir, options_.link_dir}) {
    absl::Status status = MakeDirectories(dir);
    if (!status.ok()) return status;
  }
  absl::Status status = Recover();
  if (!status.ok()) return status;

  bool adopt = !options_.adopt_pidfile.empty();
  ServerSupervisor::Options supervision;
  supervision.name = "nbd-server";
  supervision.listen = options_.listen;
  supervision.on_change = options_.on_change;
  supervision.adopt_only = adopt;
  supervision.pidfile =
      adopt ? options_.adopt_pidfile
            : absl::StrCat(options_.state_dir, "/nbd-server.pid");
  if (!adopt) {
    supervision.argv = {options_.program, "-C", ConfigPath(), "-p",
                        supervision.pidfile};
    if (!options_.relay_library.empty()) {
      supervision.env = {absl::StrCat("LD_PRELOAD=", options_.relay_library)};
    }
    supervision.before_start = [this](int64_t generation) {
      return BeforeStart(generation);
    };
    supervision.health_check = [this] { return CheckPlaceholder(); };
  }
  supervisor_ = std::make_unique<ServerSupervisor>(std::move(supervision));
  coalescer_ = std::make_unique<ReloadCoalescer>([this] { return Reload(); });
  return supervisor_->Start();
}

void NbdServerBackend::Stop() {
  if (supervisor_ != nullptr) supervisor_->Stop();
}

// Files of exports whose create or delete was cut short are made whole or
// removed: an export exists when both its link and its file do.
absl::Status NbdServerBackend::Recover() {
  absl::StatusOr<std::map<std::string, std::string>> links =
      ScanExportLinks(options_.link_dir);
  if (!links.ok()) return links.status();
  absl::StatusOr<std::vector<std::string>> leftovers =
      RemoveLeftovers(options_.include_dir);
  if (!leftovers.ok()) return leftovers.status();
  absl::StatusOr<std::vector<std::string>> files =
      ListDirectory(options_.include_dir);
  if (!files.ok()) return files.status();

  std::map<std::string, bool> sections;
  for (const std::string& file : *files) {
    absl::string_view name = file;
    if (!absl::ConsumeSuffix(&name, kConfSuffix)) continue;
    std::string path = absl::StrCat(options_.include_dir, "/", file);
    absl::StatusOr<std::string> text = ReadFile(path);
    absl::StatusOr<ExportSection> section =
        text.ok() ? ParseExportSection(*text) : text.status();
    if (!section.ok() || section->name != name ||
        links->count(section->name) == 0) {
      spdlog::warn("exports: removing {}: not a complete export",
                   QuotedPath(path));
      absl::Status status = RemoveDurably(options_.include_dir, file);
      if (!status.ok()) return status;
      continue;
    }
    sections[section->name] = section->read_only;
  }

  for (const auto& [name, target] : *links) {
    if (sections.count(name) == 0) {
      spdlog::warn("export[{}]: removing its link: the create did not finish",
                   name);
      absl::Status status = RemoveDurably(options_.link_dir, name);
      if (!status.ok()) return status;
      continue;
    }
    recovered_.push_back({name, target, sections[name]});
  }
  return absl::OkStatus();
}

absl::Status NbdServerBackend::BeforeStart(int64_t generation) {
  absl::Status status = WriteBaseConfig();
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<std::string>> files =
      ListDirectory(options_.include_dir);
  if (!files.ok()) return files.status();

  std::map<std::string, bool> known;
  for (const std::string& file : *files) {
    absl::string_view name = file;
    if (!absl::ConsumeSuffix(&name, kConfSuffix)) continue;
    absl::StatusOr<std::string> text =
        ReadFile(absl::StrCat(options_.include_dir, "/", file));
    absl::StatusOr<ExportSection> section =
        text.ok() ? ParseExportSection(*text) : text.status();
    if (section.ok()) known[section->name] = section->read_only;
  }
  absl::MutexLock lock(&mu_);
  known_.erase(known_.begin(), known_.lower_bound(generation - 1));
  known_[generation] = std::move(known);
  return absl::OkStatus();
}

absl::Status NbdServerBackend::CheckPlaceholder() {
  return ProbeExport(options_.listen, std::string(kPlaceholderExport)).status();
}

// Rewritten only when different: a replacement of the main process per
// create should not cost four fsyncs more.
absl::Status NbdServerBackend::WriteBaseConfig() {
  const std::string placeholder =
      absl::StrCat(options_.state_dir, "/placeholder");
  const std::string zeros(kPlaceholderBytes, '\0');
  absl::StatusOr<std::string> existing = ReadFile(placeholder);
  if (!existing.ok() || *existing != zeros) {
    absl::Status status =
        WriteFileAtomically(options_.state_dir, "placeholder", zeros);
    if (!status.ok()) return status;
  }
  absl::StatusOr<std::string> config =
      RenderBaseConfig({options_.listen, options_.include_dir, placeholder});
  if (!config.ok()) return config.status();
  existing = ReadFile(ConfigPath());
  if (existing.ok() && *existing == *config) return absl::OkStatus();
  return WriteFileAtomically(options_.state_dir, "nbd-server.conf", *config);
}

std::vector<PublishedExport> NbdServerBackend::Recovered() const {
  return recovered_;
}

absl::Status NbdServerBackend::Publish(const PublishedExport& spec) {
  absl::Status status =
      ReplaceSymlinkAtomically(options_.link_dir, spec.name, spec.device_path);
  if (!status.ok()) return status;
  absl::StatusOr<std::string> section = RenderExportSection(
      {spec.name, absl::StrCat(options_.link_dir, "/", spec.name),
       spec.read_only});
  if (!section.ok()) return section.status();
  status = WriteFileAtomically(options_.include_dir,
                               absl::StrCat(spec.name, kConfSuffix), *section);
  if (!status.ok()) return status;

  {
    // The supervisor calls BeforeStart (which takes mu_) with its own lock
    // held: never ask it anything while holding mu_.
    const int64_t generation = supervisor_->generation();
    absl::MutexLock lock(&mu_);
    const std::map<std::string, bool>& known = known_[generation];
    auto found = known.find(spec.name);
    if (found != known.end() && found->second == spec.read_only) {
      // The server opens the re-pointed link at the next connection.
      return absl::OkStatus();
    }
    // A SIGHUP would keep a known name's old read_only setting.
    if (found != known.end()) restart_next_ = true;
  }
  return coalescer_->Reload();
}

absl::Status NbdServerBackend::Unpublish(const std::string& name) {
  // The link first: from here on a new connection to the name fails.
  absl::Status status = RemoveDurably(options_.link_dir, name);
  if (!status.ok()) return status;
  return RemoveDurably(options_.include_dir, absl::StrCat(name, kConfSuffix));
}

absl::Status NbdServerBackend::Reload() {
  if (!supervisor_->up()) {
    // The supervisor's next server reads every file; nothing to signal.
    return absl::OkStatus();
  }
  bool restart;
  const int64_t generation = supervisor_->generation();
  {
    absl::MutexLock lock(&mu_);
    if (generation != signalled_generation_) {
      signalled_generation_ = generation;
      signals_to_process_ = 0;
    }
    bool adopted = !options_.adopt_pidfile.empty();
    restart =
        !adopted && (options_.reload_mode == Options::ReloadMode::kRestart ||
                     restart_next_ ||
                     signals_to_process_ >= options_.max_reloads_per_process);
    restart_next_ = false;
    if (restart) {
      ++restarts_;
    } else {
      ++signals_to_process_;
      ++reloads_;
    }
  }
  if (restart) return supervisor_->Restart();
  return supervisor_->Signal(SIGHUP);
}

bool NbdServerBackend::up() const {
  return supervisor_ != nullptr && supervisor_->up();
}

pid_t NbdServerBackend::server_pid() const {
  return supervisor_ != nullptr ? supervisor_->pid() : -1;
}

int64_t NbdServerBackend::reloads() const {
  absl::MutexLock lock(&mu_);
  return reloads_;
}

int64_t NbdServerBackend::restarts() const {
  absl::MutexLock lock(&mu_);
  return restarts_;
}

}  // namespace migratekit::exports
