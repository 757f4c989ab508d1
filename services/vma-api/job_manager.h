// Every replication job of this vma-api: accepts new ones (validating the
// request and probing source and target before anything is recorded),
// finds them, cancels them, and after a restart continues those that were
// running when the previous process stopped.
#ifndef MIGRATEKIT_SERVICES_VMA_API_JOB_MANAGER_H_
#define MIGRATEKIT_SERVICES_VMA_API_JOB_MANAGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/vma/v1/vma.pb.h"
#include "services/vma-api/job_store.h"
#include "services/vma-api/replication_job.h"

namespace migratekit::vma {

// What a request leaves out.
struct JobDefaults {
  std::string target_address = "127.0.0.1:10808";
  uint32_t connections = 4;
  uint32_t requests_per_connection = 16;
  uint32_t request_size_bytes = 2 << 20;
};

class JobManager {
 public:
  JobManager(JobStore* store, JobDefaults defaults, JobEnvironment env);
  ~JobManager();  // Shutdown()

  // Reads every stored job and starts again those that had not ended.
  absl::Status Recover();

  // Validates `request` (INVALID_ARGUMENT), checks the job id is free
  // (ALREADY_EXISTS) and no live job writes the same export
  // (FAILED_PRECONDITION), connects to source and target (UNAVAILABLE when
  // the target address does not answer, NOT_FOUND when it has no such
  // export, FAILED_PRECONDITION when the target is smaller than the
  // source), records the job and starts it. Nothing is written to the
  // target before all of that passed.
  absl::StatusOr<v1::Job> Start(const v1::StartReplicationRequest& request);

  // NOT_FOUND when there is no such job.
  absl::StatusOr<std::shared_ptr<ReplicationJob>> Find(
      const std::string& job_id) const;

  // Newest first.
  std::vector<v1::Job> List() const;

  // Stops every job's thread without ending the jobs (they continue at the
  // next start).
  void Shutdown();

 private:
  absl::StatusOr<JobRecord> Accept(const v1::StartReplicationRequest& request);
  // The stored record of an ended job that `request` asks to resume.
  absl::StatusOr<JobRecord> ResumableLocked(
      const v1::StartReplicationRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckExportFreeLocked(const JobRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  JobStore* const store_;
  const JobDefaults defaults_;
  const JobEnvironment env_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<ReplicationJob>> jobs_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // oldest first
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_JOB_MANAGER_H_
