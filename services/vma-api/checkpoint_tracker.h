// Which part of a copy is finished, as one number that survives a restart.
//
// Connections finish segments out of order; a checkpoint is the offset
// below which every segment (in work order) is finished, with the data and
// zero bytes those segments wrote. A copy that starts again from the
// checkpoint redoes at most the segments that were in flight.
//
// Not thread-safe: the copy engine calls it under its own lock.
#ifndef MIGRATEKIT_SERVICES_VMA_API_CHECKPOINT_TRACKER_H_
#define MIGRATEKIT_SERVICES_VMA_API_CHECKPOINT_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "services/vma-api/extent_plan.h"

namespace migratekit::vma {

// Where a copy stands: every work byte below `offset` is on the target.
struct Checkpoint {
  uint64_t offset = 0;
  // Bytes below `offset` written as data and as zeroes.
  uint64_t copied = 0;
  uint64_t zeroed = 0;
  // Every segment is finished.
  bool complete = false;
};

class CheckpointTracker {
 public:
  // `segments` in work order, from CutIntoSegments(); `start` is the
  // checkpoint the copy resumed from (its counts carry on).
  CheckpointTracker(std::vector<Range> segments, Checkpoint start);

  // Segment `index` has been written in full.
  void MarkDone(size_t index, uint64_t copied, uint64_t zeroed);

  // The checkpoint as of now (not yet flushed: the engine flushes every
  // target connection before it makes this durable).
  Checkpoint Current() const { return current_; }

 private:
  struct Done {
    bool done = false;
    uint64_t copied = 0;
    uint64_t zeroed = 0;
  };

  void Advance();

  std::vector<Range> segments_;
  std::vector<Done> done_;
  size_t next_ = 0;  // the first segment not yet finished
  Checkpoint current_;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_CHECKPOINT_TRACKER_H_
