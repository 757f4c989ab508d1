// Copies a source disk to a target over NBD: several connections to each
// (CopyWorker), disjoint segments, and durable checkpoints.
//
//   CopyEngine engine(options);
//   absl::Status status = engine.Run();   // blocks; Progress() from others
//
// A checkpoint counts only after every target connection has been flushed
// with the segments it covers acknowledged before the flush went out, so a
// copy that stops at any moment (cancel, a lost connection, a killed
// process) can start again from the last checkpoint and end byte-identical.
//
// Before writing anything the engine checks that every target connection
// sees a disk at least as large as the source, and refuses otherwise.
#ifndef MIGRATEKIT_SERVICES_VMA_API_COPY_ENGINE_H_
#define MIGRATEKIT_SERVICES_VMA_API_COPY_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/vma-api/checkpoint_tracker.h"
#include "services/vma-api/copy_state.h"
#include "services/vma-api/copy_worker.h"
#include "services/vma-api/extent_plan.h"

namespace migratekit::vma {

struct CopyOptions {
  std::string source_uri;
  std::string target_uri;
  // The ranges to copy, from NormalizeWork(); the whole source when empty.
  std::vector<Range> work;
  // Where an earlier attempt got to.
  Checkpoint start;
  int connections = 4;
  CopyTuning tuning;
  // How often a checkpoint is made durable while copying.
  absl::Duration checkpoint_interval = absl::Seconds(2);
  // Set by another thread to stop: in-flight requests finish, then a last
  // checkpoint is made; Run() returns CANCELLED.
  const std::atomic<bool>* cancel = nullptr;
  // Called with each durable checkpoint; an error stops the copy.
  std::function<absl::Status(const Checkpoint&)> on_checkpoint;
  CopyMetrics metrics;
};

struct CopyProgress {
  // Bytes acknowledged by the target, flushed or not, counting those
  // before the starting checkpoint.
  uint64_t copied = 0;
  uint64_t zeroed = 0;
};

class CopyEngine {
 public:
  explicit CopyEngine(CopyOptions options);

  // Copies everything from the start checkpoint on. OK when complete;
  // CANCELLED when cancelled; FAILED_PRECONDITION when the target is too
  // small; UNAVAILABLE when a connection was lost (retry from the last
  // checkpoint); DATA_LOSS when the source could not be read.
  absl::Status Run();

  // Safe from any thread while Run() runs.
  CopyProgress Progress() const;

 private:
  absl::Status Connect();
  void Coordinate();
  absl::Status FinalCheckpoint();
  bool Cancelled() const;

  const CopyOptions options_;
  std::unique_ptr<CopyState> state_;
  std::vector<std::unique_ptr<CopyWorker>> workers_;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_COPY_ENGINE_H_
