#include "services/exports/export_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/exports/nbd_probe.h"
#include "services/exports/open_descriptors.h"

namespace migratekit::exports {

class ExportRegistry::NameLock {
 public:
  NameLock(ExportRegistry* registry, std::string name)
      : registry_(registry), name_(std::move(name)) {
    absl::MutexLock lock(&registry_->mu_);
    auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry_->mu_) {
      return registry_->busy_.count(name_) == 0;
    };
    registry_->mu_.Await(absl::Condition(&free));
    registry_->busy_.insert(name_);
  }
  ~NameLock() {
    absl::MutexLock lock(&registry_->mu_);
    registry_->busy_.erase(name_);
  }

 private:
  ExportRegistry* const registry_;
  const std::string name_;
};

ExportRegistry::ExportRegistry(Options options, ExportBackend* backend,
                               ExportMetrics* metrics)
    : options_(options), backend_(backend), metrics_(metrics) {}

void ExportRegistry::LoadRecovered() {
  {
    absl::MutexLock lock(&mu_);
    LoadRecoveredLocked();
  }
  UpdateGauges();
}

void ExportRegistry::LoadRecoveredLocked() {
  for (const PublishedExport& found : backend_->Recovered()) {
    Entry entry;
    entry.volume_id = VolumeIdOf(found.name);
    entry.read_only = found.read_only;
    entry.creating = false;
    entry.create_time = absl::Now();
    absl::StatusOr<Device> device =
        CheckDevice(found.device_path, options_.allow_regular_files);
    if (device.ok()) {
      entry.device = *device;
    } else {
      entry.device.path = found.device_path;
      entry.problem = std::string(device.status().message());
    }
    spdlog::info("export[{}]: recovered device={}", found.name,
                 QuotedPath(found.device_path));
    entries_[found.name] = entry;
  }
}

absl::StatusOr<v1::Export> ExportRegistry::Create(
    const v1::CreateExportRequest& request) {
  const absl::Time start = absl::Now();
  absl::Status valid = ValidateVolumeId(request.volume_id());
  absl::StatusOr<Device> device =
      valid.ok()
          ? CheckDevice(request.device_path(), options_.allow_regular_files)
          : absl::StatusOr<Device>(valid);
  if (!device.ok()) {
    spdlog::warn("exports: create refused volume_id={}: {}",
                 Quoted(request.volume_id()), device.status().message());
    metrics_->CountCreate("invalid", 0);
    return device.status();
  }

  NameLock name_lock(this, ExportName(request.volume_id()));
  bool existed = false;
  absl::StatusOr<v1::Export> result =
      CreateHoldingName(request, *device, &existed);
  if (result.ok()) {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    metrics_->CountCreate(existed ? "existing" : "created", seconds);
    spdlog::info("export[{}]: {} device={} size={} read_only={} seconds={:.3f}",
                 result->name(), existed ? "exists" : "created",
                 QuotedPath(result->device_path()), result->size_bytes(),
                 result->read_only(), seconds);
  }
  metrics_->SetReloads(backend_->reloads(), backend_->restarts());
  UpdateGauges();
  return result;
}

absl::StatusOr<v1::Export> ExportRegistry::CreateHoldingName(
    const v1::CreateExportRequest& request, const Device& device,
    bool* existed) {
  const std::string name = ExportName(request.volume_id());
  {
    absl::MutexLock lock(&mu_);
    auto existing = entries_.find(name);
    if (existing != entries_.end()) {
      const Entry& entry = existing->second;
      if (entry.device.path != device.path ||
          entry.read_only != request.read_only()) {
        metrics_->CountCreate("conflict", 0);
        return absl::AlreadyExistsError(absl::StrCat(
            "export ", name, " already exists on ",
            QuotedPath(entry.device.path),
            entry.read_only ? " (read-only)" : "", "; delete it first"));
      }
      *existed = true;
      Entry copy = entry;
      mu_.Unlock();
      v1::Export view = StaticView(name, copy);
      absl::Status served = WaitUntilServed(
          backend_->listen(), name, copy.device.size_bytes, kProbeTimeout);
      if (served.ok()) {
        view.set_state(v1::EXPORT_STATE_SERVED);
        view.set_size_bytes(copy.device.size_bytes);
      } else {
        view = LiveView(name, copy);
      }
      mu_.Lock();
      return view;
    }
    for (const auto& [other_name, other] : entries_) {
      if (other.device.SameAs(device)) {
        metrics_->CountCreate("conflict", 0);
        return absl::FailedPreconditionError(
            absl::StrCat("device ", QuotedPath(device.path),
                         " is already exported as ", other_name));
      }
    }
    Entry entry;
    entry.volume_id = request.volume_id();
    entry.device = device;
    entry.read_only = request.read_only();
    entry.create_time = absl::Now();
    entries_[name] = entry;
  }
  UpdateGauges();

  absl::Status status =
      backend_->Publish({name, device.path, request.read_only()});
  if (status.ok()) {
    status = WaitUntilServed(backend_->listen(), name, device.size_bytes,
                             options_.create_timeout);
    if (!status.ok()) {
      status = absl::DeadlineExceededError(
          absl::StrCat("export ", name, " is not served after ",
                       absl::FormatDuration(options_.create_timeout),
                       "; rolled back; last check: ", status.message()));
    }
  }
  if (!status.ok()) {
    spdlog::error("export[{}]: create failed: {}", name, status.message());
    absl::Status undone = backend_->Unpublish(name);
    if (!undone.ok()) spdlog::error("export[{}]: rollback: {}", name, undone);
    absl::MutexLock lock(&mu_);
    entries_.erase(name);
    metrics_->CountCreate("failed", 0);
    return status;
  }

  Entry entry;
  {
    absl::MutexLock lock(&mu_);
    entries_[name].creating = false;
    entry = entries_[name];
  }
  // What the check just saw; a second probe could fall into the moment a
  // later create replaces nbd-server's main process.
  v1::Export view = StaticView(name, entry);
  view.set_state(v1::EXPORT_STATE_SERVED);
  view.set_size_bytes(device.size_bytes);
  return view;
}

absl::StatusOr<v1::Export> ExportRegistry::Get(const std::string& volume_id) {
  absl::Status valid = ValidateVolumeId(volume_id);
  if (!valid.ok()) return valid;
  const std::string name = ExportName(volume_id);
  Entry entry;
  {
    absl::MutexLock lock(&mu_);
    auto found = entries_.find(name);
    if (found == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("no export ", name));
    }
    entry = found->second;
  }
  return LiveView(name, entry);
}

std::vector<v1::Export> ExportRegistry::List() {
  std::map<std::string, Entry> entries;
  {
    absl::MutexLock lock(&mu_);
    entries = entries_;
  }
  std::vector<v1::Export> exports;
  for (const auto& [name, entry] : entries) {
    exports.push_back(LiveView(name, entry));
  }
  return exports;
}

absl::StatusOr<v1::DeleteExportResponse> ExportRegistry::Delete(
    const std::string& volume_id) {
  absl::Status valid = ValidateVolumeId(volume_id);
  if (!valid.ok()) return valid;
  const std::string name = ExportName(volume_id);
  NameLock name_lock(this, name);

  Device device;
  {
    absl::MutexLock lock(&mu_);
    auto found = entries_.find(name);
    if (found == entries_.end()) {
      metrics_->CountDelete("not_found");
      return absl::NotFoundError(absl::StrCat("no export ", name));
    }
    device = found->second.device;
  }
  absl::Status status = backend_->Unpublish(name);
  if (!status.ok()) {
    metrics_->CountDelete("failed");
    return status;
  }
  {
    absl::MutexLock lock(&mu_);
    entries_.erase(name);
  }
  v1::DeleteExportResponse response;
  response.set_open_connections(
      CountOpenDescriptors(device, backend_->program()));
  spdlog::info("export[{}]: deleted open_connections={}", name,
               response.open_connections());
  metrics_->CountDelete("deleted");
  UpdateGauges();
  return response;
}

void ExportRegistry::OnServerChange(bool up) {
  metrics_->SetServerUp(up);
  UpdateGauges(up);
}

v1::Export ExportRegistry::StaticView(const std::string& name,
                                      const Entry& entry) const {
  v1::Export view;
  view.set_name(name);
  view.set_volume_id(entry.volume_id);
  view.set_device_path(entry.device.path);
  view.set_read_only(entry.read_only);
  view.mutable_create_time()->set_seconds(
      absl::ToUnixSeconds(entry.create_time));
  view.set_uri(
      absl::StrCat("nbd://", backend_->listen().ToString(), "/", name));
  return view;
}

// Get and List report what a client would see now: one probe each.
v1::Export ExportRegistry::LiveView(const std::string& name,
                                    const Entry& entry) {
  v1::Export view = StaticView(name, entry);
  if (entry.creating) {
    view.set_state(v1::EXPORT_STATE_CREATING);
    return view;
  }
  if (!backend_->up()) {
    view.set_state(v1::EXPORT_STATE_NOT_SERVED);
    view.set_state_detail(
        absl::StrCat(backend_->program(), " is down; restarting it"));
    return view;
  }
  absl::StatusOr<uint64_t> size = ProbeExport(backend_->listen(), name);
  if (!size.ok()) {
    // Once more: the first may have met a replacement of the main process.
    absl::SleepFor(absl::Milliseconds(200));
    size = ProbeExport(backend_->listen(), name);
  }
  if (!size.ok()) {
    view.set_state(v1::EXPORT_STATE_NOT_SERVED);
    view.set_state_detail(entry.problem.empty()
                              ? std::string(size.status().message())
                              : entry.problem);
    return view;
  }
  view.set_state(v1::EXPORT_STATE_SERVED);
  view.set_size_bytes(*size);
  return view;
}

void ExportRegistry::UpdateGauges() { UpdateGauges(backend_->up()); }

void ExportRegistry::UpdateGauges(bool up) {
  absl::MutexLock lock(&mu_);
  int creating = 0;
  int settled = 0;
  for (const auto& [name, entry] : entries_) {
    (entry.creating ? creating : settled)++;
  }
  metrics_->SetExports(creating, up ? settled : 0, up ? 0 : settled);
}

}  // namespace migratekit::exports
