#include "services/vma-api/rate_meter.h"

namespace migratekit::vma {

void RateMeter::Add(absl::Time now, uint64_t bytes_done) {
  if (!samples_.empty() && bytes_done < samples_.back().second) {
    samples_.clear();
  }
  samples_.emplace_back(now, bytes_done);

  // Keep one sample at or before the window's start so the rate spans it.
  while (samples_.size() > 2 && samples_[1].first <= now - window_) {
    samples_.pop_front();
  }
}

double RateMeter::BytesPerSecond() const {
  if (samples_.size() < 2) return 0;
  double seconds =
      absl::ToDoubleSeconds(samples_.back().first - samples_.front().first);
  if (seconds <= 0) return 0;
  return (samples_.back().second - samples_.front().second) / seconds;
}

std::optional<absl::Duration> RateMeter::Eta(uint64_t bytes_left) const {
  double rate = BytesPerSecond();
  if (rate <= 0) return std::nullopt;
  return absl::Seconds(bytes_left / rate);
}

}  // namespace migratekit::vma
