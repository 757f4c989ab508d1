// What the connections of one copy share: the segments still to claim, the
// checkpoint tracker, the byte counters, the first error and the requests
// to stop or to flush. Workers run on their own threads; everything here is
// safe to call from any of them.
#ifndef MIGRATEKIT_SERVICES_VMA_API_COPY_STATE_H_
#define MIGRATEKIT_SERVICES_VMA_API_COPY_STATE_H_

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/vma-api/checkpoint_tracker.h"
#include "services/vma-api/extent_plan.h"

namespace migratekit::vma {

// Where a copy reports to Prometheus; any pointer may be null.
struct CopyMetrics {
  prometheus::Counter* data_bytes = nullptr;
  prometheus::Counter* zero_bytes = nullptr;
  prometheus::Histogram* read_seconds = nullptr;
  prometheus::Histogram* write_seconds = nullptr;
  prometheus::Histogram* zero_seconds = nullptr;
};

class CopyState {
 public:
  CopyState(std::vector<Range> segments, Checkpoint start, CopyMetrics metrics);

  // The next segment nobody has taken, or none when all are taken.
  std::optional<size_t> ClaimSegment();
  const Range& segment(size_t index) const { return segments_[index]; }

  // A segment's every request has been answered with success.
  void SegmentDone(size_t index, uint64_t copied, uint64_t zeroed);
  Checkpoint CurrentCheckpoint() const;

  // Counts bytes the target acknowledged (flushed or not).
  void AddWritten(Request::Kind kind, uint64_t bytes);
  // Counts zero bytes not written because the target reads as zero.
  void AddSkippedZeroes(uint64_t bytes) { zeroed_ += bytes; }
  uint64_t copied() const { return copied_.load(); }
  uint64_t zeroed() const { return zeroed_.load(); }
  const CopyMetrics& metrics() const { return metrics_; }

  // Records the first failure and asks every worker to stop.
  void Fail(absl::Status status);
  absl::Status error() const;

  // Workers stop taking work, wait for what is in flight, and return.
  void Stop() { stopping_.store(true); }
  bool stopping() const { return stopping_.load(); }

  // Asks every worker to flush its target connection; workers answer by
  // raising their own flushed generation to at least this.
  uint64_t RequestFlush() { return ++flush_requested_; }
  uint64_t flush_requested() const { return flush_requested_.load(); }

 private:
  const std::vector<Range> segments_;
  const CopyMetrics metrics_;
  std::atomic<size_t> next_segment_{0};
  std::atomic<uint64_t> copied_;
  std::atomic<uint64_t> zeroed_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> flush_requested_{0};

  mutable absl::Mutex mu_;
  CheckpointTracker tracker_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_COPY_STATE_H_
