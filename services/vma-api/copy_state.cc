#include "services/vma-api/copy_state.h"

#include <utility>

namespace migratekit::vma {

CopyState::CopyState(std::vector<Range> segments, Checkpoint start,
                     CopyMetrics metrics)
    : segments_(segments),
      metrics_(metrics),
      copied_(start.copied),
      zeroed_(start.zeroed),
      tracker_(std::move(segments), start) {}

std::optional<size_t> CopyState::ClaimSegment() {
  size_t index = next_segment_.fetch_add(1);
  if (index >= segments_.size()) return std::nullopt;
  return index;
}

void CopyState::SegmentDone(size_t index, uint64_t copied, uint64_t zeroed) {
  absl::MutexLock lock(&mu_);
  tracker_.MarkDone(index, copied, zeroed);
}

Checkpoint CopyState::CurrentCheckpoint() const {
  absl::MutexLock lock(&mu_);
  return tracker_.Current();
}

void CopyState::AddWritten(Request::Kind kind, uint64_t bytes) {
  if (kind == Request::Kind::kData) {
    copied_ += bytes;
    if (metrics_.data_bytes != nullptr) metrics_.data_bytes->Increment(bytes);
  } else {
    zeroed_ += bytes;
    if (metrics_.zero_bytes != nullptr) metrics_.zero_bytes->Increment(bytes);
  }
}

void CopyState::Fail(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = std::move(status);
  }
  Stop();
}

absl::Status CopyState::error() const {
  absl::MutexLock lock(&mu_);
  return error_;
}

}  // namespace migratekit::vma
