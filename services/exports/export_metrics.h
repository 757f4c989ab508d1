// The Prometheus metrics of export-manager.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_METRICS_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace migratekit::exports {

class ExportMetrics {
 public:
  explicit ExportMetrics(prometheus::Registry& registry);

  // result: "created", "existing", "invalid", "conflict", "failed".
  void CountCreate(const std::string& result, double seconds);
  // result: "deleted", "not_found", "failed".
  void CountDelete(const std::string& result);
  void SetExports(int creating, int served, int not_served);
  void SetServerUp(bool up);
  // Totals kept by the backend; the counters follow them.
  void SetReloads(int64_t reloads, int64_t restarts);

 private:
  prometheus::Family<prometheus::Counter>& creates_;
  prometheus::Family<prometheus::Counter>& deletes_;
  prometheus::Family<prometheus::Gauge>& exports_;
  prometheus::Gauge& creating_;
  prometheus::Gauge& served_;
  prometheus::Gauge& not_served_;
  prometheus::Gauge& server_up_;
  prometheus::Counter& server_downs_;
  prometheus::Counter& reloads_;
  prometheus::Counter& restarts_;
  prometheus::Histogram& create_seconds_;

  absl::Mutex mu_;
  bool last_up_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_reloads_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_restarts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_METRICS_H_
