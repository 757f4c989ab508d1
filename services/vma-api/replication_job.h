// One replication job's life on its own thread: copy (with retries from the
// last checkpoint when the source or target goes away), verify if asked,
// and end DONE, FAILED or CANCELLED. Every phase change and every
// checkpoint is written to the JobStore first, so a job interrupted at any
// point - a cancel, a lost tunnel, a killed vma-api - goes on from its
// last checkpoint and ends with the target byte-identical to the source.
//
// Watchers read Snapshot() and wait on WaitForUpdate(), which wakes at
// every phase change and every progress tick (a few times a second).
#ifndef MIGRATEKIT_SERVICES_VMA_API_REPLICATION_JOB_H_
#define MIGRATEKIT_SERVICES_VMA_API_REPLICATION_JOB_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/vma/v1/vma.pb.h"
#include "services/vma-api/copy_engine.h"
#include "services/vma-api/job_metrics.h"
#include "services/vma-api/job_store.h"
#include "services/vma-api/rate_meter.h"

namespace migratekit::vma {

// What every job of one vma-api shares.
struct JobEnvironment {
  JobStore* store = nullptr;
  JobMetrics* metrics = nullptr;
  absl::Duration checkpoint_interval = absl::Seconds(2);
  // Backoff between attempts: doubles from the first to the most.
  absl::Duration retry_initial = absl::Milliseconds(500);
  absl::Duration retry_max = absl::Seconds(30);
  int max_retries = 100;
  // Granularity of the "first differing range" that verify reports.
  uint64_t digest_chunk = 1 << 20;
};

class ReplicationJob {
 public:
  // `record` as stored: a new job (phase QUEUED) or one read back after a
  // restart, which carries on from its checkpoint.
  ReplicationJob(JobRecord record, const JobEnvironment& env);
  ~ReplicationJob();  // Stop()s and waits

  ReplicationJob(const ReplicationJob&) = delete;
  ReplicationJob& operator=(const ReplicationJob&) = delete;

  // Starts the job's thread if the job has not ended.
  void Start();

  // Stops the job within a second, keeping its last checkpoint; it ends
  // CANCELLED. FAILED_PRECONDITION once it has ended.
  absl::Status Cancel();

  // Stops the thread without ending the job (vma-api shutting down): it
  // stays in its phase and continues when vma-api starts again.
  void Stop();

  v1::Job Snapshot() const;
  bool Ended() const;

  // Blocks until the job changed after the change numbered `*seen`, or
  // `timeout` passed; sets `*seen` to the latest change.
  void WaitForUpdate(uint64_t* seen, absl::Duration timeout) const;

  const std::string& id() const { return id_; }
  // The target the job writes: "address/export".
  const std::string& target_key() const { return target_key_; }

 private:
  void Run();
  absl::Status WithRetries(const char* what,
                           const std::function<absl::Status()>& attempt);
  absl::Status CopyOnce();
  absl::Status VerifyOnce();
  void SetPhase(v1::JobPhase phase, const std::string& error);
  absl::Status SaveCheckpoint(const Checkpoint& checkpoint);
  void SaveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SleepUnlessStopped(absl::Duration duration);

  const std::string id_;
  const std::string target_key_;
  const JobEnvironment env_;

  mutable absl::Mutex mu_;
  JobRecord record_ ABSL_GUARDED_BY(mu_);
  CopyEngine* engine_ ABSL_GUARDED_BY(mu_) = nullptr;
  mutable RateMeter rate_ ABSL_GUARDED_BY(mu_);
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;

  // Set by Cancel() (the job ends CANCELLED) or Stop() (it does not).
  std::atomic<bool> stop_{false};
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_REPLICATION_JOB_H_
