#include "services/vma-api/checkpoint_tracker.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace migratekit::vma {

CheckpointTracker::CheckpointTracker(std::vector<Range> segments,
                                     Checkpoint start)
    : segments_(std::move(segments)), done_(segments_.size()), current_(start) {
  if (!segments_.empty()) current_.offset = segments_.front().offset;
  Advance();
}

void CheckpointTracker::MarkDone(size_t index, uint64_t copied,
                                 uint64_t zeroed) {
  if (index >= done_.size() || done_[index].done) {
    std::fprintf(stderr, "checkpoint: segment %zu finished twice\n", index);
    std::abort();
  }
  done_[index] = {true, copied, zeroed};
  Advance();
}

void CheckpointTracker::Advance() {
  while (next_ < segments_.size() && done_[next_].done) {
    current_.copied += done_[next_].copied;
    current_.zeroed += done_[next_].zeroed;
    current_.offset = segments_[next_].end();
    ++next_;
  }
  if (next_ < segments_.size()) current_.offset = segments_[next_].offset;
  current_.complete = next_ == segments_.size();
}

}  // namespace migratekit::vma
