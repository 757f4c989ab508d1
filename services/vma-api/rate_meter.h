// Rate and time left of a job from samples of bytes covered: the rate over
// the last few seconds (not since the start, so that a resumed or throttled
// job shows what it does now).
#ifndef MIGRATEKIT_SERVICES_VMA_API_RATE_METER_H_
#define MIGRATEKIT_SERVICES_VMA_API_RATE_METER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "absl/time/time.h"

namespace migratekit::vma {

class RateMeter {
 public:
  explicit RateMeter(absl::Duration window = absl::Seconds(5))
      : window_(window) {}

  // `bytes_done` is the running total at `now`; it may go down (a retry
  // that resumes from a checkpoint), which starts the window afresh.
  void Add(absl::Time now, uint64_t bytes_done);

  // 0 until two samples span some time.
  double BytesPerSecond() const;

  // Time to cover `bytes_left` at the current rate; none when the rate is 0.
  std::optional<absl::Duration> Eta(uint64_t bytes_left) const;

 private:
  absl::Duration window_;
  std::deque<std::pair<absl::Time, uint64_t>> samples_;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_RATE_METER_H_
