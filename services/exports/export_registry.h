// The exports of one NBD server and their lifecycle: validated creates
// that answer only once a real connection sees the device, idempotent
// repeats, deletes that take effect for new connections at once, and live
// state for get and list. One operation at a time per export name; any
// number of names at once (their reloads coalesce in the backend).
//
// Delete policy: a delete never cuts a connection that is already open.
// The name stops resolving at once (new connections fail), connections
// already open keep reading and writing the device they opened until their
// clients disconnect, and the answer says how many there still were.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_REGISTRY_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_REGISTRY_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/exports/v1/exports.pb.h"
#include "services/exports/export_backend.h"
#include "services/exports/export_metrics.h"
#include "services/exports/export_validation.h"

namespace migratekit::exports {

class ExportRegistry {
 public:
  struct Options {
    bool allow_regular_files = false;
    // How long a create waits for its export to be served.
    absl::Duration create_timeout = absl::Seconds(30);
  };

  // `backend` and `metrics` must outlive the registry.
  ExportRegistry(Options options, ExportBackend* backend,
                 ExportMetrics* metrics);

  // Takes over the exports the backend found on disk.
  void LoadRecovered();

  absl::StatusOr<v1::Export> Create(const v1::CreateExportRequest& request);
  absl::StatusOr<v1::Export> Get(const std::string& volume_id);
  std::vector<v1::Export> List();
  absl::StatusOr<v1::DeleteExportResponse> Delete(const std::string& volume_id);

  // Keeps the metrics in step with the server's state.
  void OnServerChange(bool up);

 private:
  struct Entry {
    std::string volume_id;
    Device device;
    bool read_only = false;
    bool creating = true;
    // Why the device is unusable, for exports recovered on start.
    std::string problem;
    absl::Time create_time;
  };

  // Serialises operations on one name; released by the destructor.
  class NameLock;

  void LoadRecoveredLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs with the export's NameLock held; sets `existed` when the same
  // export was there already.
  absl::StatusOr<v1::Export> CreateHoldingName(
      const v1::CreateExportRequest& request, const Device& device,
      bool* existed);
  // The stored fields, no state.
  v1::Export StaticView(const std::string& name, const Entry& entry) const;
  // Talks to the server: call without mu_.
  v1::Export LiveView(const std::string& name, const Entry& entry);
  void UpdateGauges();
  void UpdateGauges(bool up);

  const Options options_;
  ExportBackend* const backend_;
  ExportMetrics* const metrics_;

  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> busy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_REGISTRY_H_
