// Exponential backoff with jitter for reconnecting: the n-th consecutive
// failure waits about initial * 2^n, capped, with "full jitter" so that many
// VMAs that lost the same OMA do not come back in lock step.
//
//   Backoff backoff({.initial = absl::Seconds(1), .cap = absl::Seconds(60)});
//   absl::Duration wait = backoff.Next();  // after a failure
//   backoff.Reset();                       // after a success
#ifndef MIGRATEKIT_SERVICES_TUNNEL_BACKOFF_H_
#define MIGRATEKIT_SERVICES_TUNNEL_BACKOFF_H_

#include "absl/random/random.h"
#include "absl/time/time.h"

namespace migratekit::tunnel {

class Backoff {
 public:
  struct Options {
    absl::Duration initial = absl::Seconds(1);
    absl::Duration cap = absl::Seconds(60);
  };

  explicit Backoff(Options options) : options_(options) {}

  // The wait before the next attempt: uniform in [ceiling/2, ceiling] where
  // ceiling = min(cap, initial * 2^failures); then counts one more failure.
  absl::Duration Next();

  // The slowest step, for failures that retrying fast cannot fix (a changed
  // host key): the cap, with the same jitter.
  absl::Duration Slowest();

  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  absl::Duration Jittered(absl::Duration ceiling);

  Options options_;
  int failures_ = 0;
  absl::BitGen random_;
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_BACKOFF_H_
