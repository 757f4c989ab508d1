// The durable record of every replication job: what was asked, where it
// stands, and its last checkpoint, in one SQLite database under
// --state_dir. A job's row is written when it starts, at every phase
// change and at every checkpoint (after the target was flushed), so that a
// restarted vma-api knows which jobs to continue and from where.
//
// Thread-safe: one connection, one lock.
#ifndef MIGRATEKIT_SERVICES_VMA_API_JOB_STORE_H_
#define MIGRATEKIT_SERVICES_VMA_API_JOB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/vma/v1/vma.pb.h"
#include "services/vma-api/checkpoint_tracker.h"

struct sqlite3;

namespace migratekit::vma {

struct JobRecord {
  // The request as accepted (defaults filled in).
  v1::StartReplicationRequest request;
  // The job as last saved (phase, error, retries, times, digests).
  v1::Job job;
  Checkpoint checkpoint;
};

class JobStore {
 public:
  // Opens (creating if needed) `dir`/jobs.sqlite; an empty `dir` keeps
  // everything in memory, lost at exit.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& dir);
  ~JobStore();

  // ALREADY_EXISTS when the job id is taken.
  absl::Status Insert(const JobRecord& record);
  // Replaces the record of an existing job.
  absl::Status Update(const JobRecord& record);
  // Every job, oldest first.
  absl::StatusOr<std::vector<JobRecord>> LoadAll();

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  absl::Status Write(const char* sql, const JobRecord& record);

  absl::Mutex mu_;
  sqlite3* const db_;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_JOB_STORE_H_
