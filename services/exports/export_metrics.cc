#include "services/exports/export_metrics.h"

namespace migratekit::exports {

ExportMetrics::ExportMetrics(prometheus::Registry& registry)
    : creates_(prometheus::BuildCounter()
                   .Name("migratekit_export_creates_total")
                   .Help("CreateExport calls by result.")
                   .Register(registry)),
      deletes_(prometheus::BuildCounter()
                   .Name("migratekit_export_deletes_total")
                   .Help("DeleteExport calls by result.")
                   .Register(registry)),
      exports_(prometheus::BuildGauge()
                   .Name("migratekit_exports")
                   .Help("Exports by state.")
                   .Register(registry)),
      creating_(exports_.Add({{"state", "creating"}})),
      served_(exports_.Add({{"state", "served"}})),
      not_served_(exports_.Add({{"state", "not_served"}})),
      server_up_(prometheus::BuildGauge()
                     .Name("migratekit_nbd_server_up")
                     .Help("1 while the NBD server accepts connections.")
                     .Register(registry)
                     .Add({})),
      server_downs_(prometheus::BuildCounter()
                        .Name("migratekit_nbd_server_downs_total")
                        .Help("Times the NBD server went down.")
                        .Register(registry)
                        .Add({})),
      reloads_(prometheus::BuildCounter()
                   .Name("migratekit_nbd_reloads_total")
                   .Help("Reload signals (SIGHUP) sent to the NBD server.")
                   .Register(registry)
                   .Add({})),
      restarts_(prometheus::BuildCounter()
                    .Name("migratekit_nbd_restarts_total")
                    .Help("NBD server processes replaced instead of a reload.")
                    .Register(registry)
                    .Add({})),
      create_seconds_(prometheus::BuildHistogram()
                          .Name("migratekit_export_create_seconds")
                          .Help("CreateExport calls, from call to served.")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1, 2.5, 5, 10, 30})) {}

void ExportMetrics::CountCreate(const std::string& result, double seconds) {
  creates_.Add({{"result", result}}).Increment();
  if (result == "created") create_seconds_.Observe(seconds);
}

void ExportMetrics::CountDelete(const std::string& result) {
  deletes_.Add({{"result", result}}).Increment();
}

void ExportMetrics::SetExports(int creating, int served, int not_served) {
  creating_.Set(creating);
  served_.Set(served);
  not_served_.Set(not_served);
}

void ExportMetrics::SetServerUp(bool up) {
  absl::MutexLock lock(&mu_);
  server_up_.Set(up ? 1 : 0);
  if (last_up_ && !up) server_downs_.Increment();
  last_up_ = up;
}

void ExportMetrics::SetReloads(int64_t reloads, int64_t restarts) {
  absl::MutexLock lock(&mu_);
  if (reloads > last_reloads_) reloads_.Increment(reloads - last_reloads_);
  if (restarts > last_restarts_) restarts_.Increment(restarts - last_restarts_);
  last_reloads_ = reloads;
  last_restarts_ = restarts;
}

}  // namespace migratekit::exports
