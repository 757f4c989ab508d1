#include "services/vma-api/job_metrics.h"

#include "absl/strings/ascii.h"

namespace migratekit::vma {
namespace {

std::string PhaseLabel(v1::JobPhase phase) {
  // "JOB_PHASE_COPYING" -> "copying"
  return absl::AsciiStrToLower(v1::JobPhase_Name(phase).substr(10));
}

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

}  // namespace

JobMetrics::JobMetrics(prometheus::Registry& registry)
    : jobs_(prometheus::BuildGauge()
                .Name("migratekit_jobs")
                .Help("Replication jobs in each phase.")
                .Register(registry)),
      retries_(prometheus::BuildCounter()
                   .Name("migratekit_job_retries_total")
                   .Help("Job attempts after a lost source or target.")
                   .Register(registry)) {
  for (int phase = v1::JOB_PHASE_QUEUED; phase <= v1::JOB_PHASE_CANCELLED;
       ++phase) {
    jobs_.Add({{"phase", PhaseLabel(static_cast<v1::JobPhase>(phase))}});
  }
  retries_.Add({{"reason", "source"}});
  retries_.Add({{"reason", "target"}});

  auto& bytes = prometheus::BuildCounter()
                    .Name("migratekit_job_bytes_total")
                    .Help("Bytes written to targets, as data and as zeroes.")
                    .Register(registry);
  copy_.data_bytes = &bytes.Add({{"kind", "data"}});
  copy_.zero_bytes = &bytes.Add({{"kind", "zero"}});

  auto& latency = prometheus::BuildHistogram()
                      .Name("migratekit_nbd_request_duration_seconds")
                      .Help("Time from sending an NBD request to its reply.")
                      .Register(registry);
  copy_.read_seconds = &latency.Add({{"op", "read"}}, LatencyBuckets());
  copy_.write_seconds = &latency.Add({{"op", "write"}}, LatencyBuckets());
  copy_.zero_seconds = &latency.Add({{"op", "zero"}}, LatencyBuckets());
}

void JobMetrics::PhaseChanged(v1::JobPhase from, v1::JobPhase to) {
  if (from == to) return;
  if (from != v1::JOB_PHASE_UNSPECIFIED) {
    jobs_.Add({{"phase", PhaseLabel(from)}}).Decrement();
  }
  if (to != v1::JOB_PHASE_UNSPECIFIED) {
    jobs_.Add({{"phase", PhaseLabel(to)}}).Increment();
  }
}

void JobMetrics::Retried(const std::string& reason) {
  retries_.Add({{"reason", reason}}).Increment();
}

}  // namespace migratekit::vma
