// The Prometheus metrics of replication jobs:
//   migratekit_jobs{phase}                 jobs in each phase now
//   migratekit_job_bytes_total{kind}       bytes written (data, zero)
//   migratekit_job_retries_total{reason}   attempts after a lost source or
//                                          target (source, target)
//   migratekit_nbd_request_duration_seconds{op}  NBD request latency
//                                          (read, write, zero)
#ifndef MIGRATEKIT_SERVICES_VMA_API_JOB_METRICS_H_
#define MIGRATEKIT_SERVICES_VMA_API_JOB_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "proto/vma/v1/vma.pb.h"
#include "services/vma-api/copy_state.h"

namespace migratekit::vma {

class JobMetrics {
 public:
  explicit JobMetrics(prometheus::Registry& registry);

  // A job moved from one phase to another; UNSPECIFIED as `from` for a job
  // that appears, as `to` for one that goes away.
  void PhaseChanged(v1::JobPhase from, v1::JobPhase to);

  // "source" or "target".
  void Retried(const std::string& reason);

  CopyMetrics copy_metrics() const { return copy_; }

 private:
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& retries_;
  CopyMetrics copy_;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_JOB_METRICS_H_
