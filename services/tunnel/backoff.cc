#include "services/tunnel/backoff.h"

#include <algorithm>

namespace migratekit::tunnel {

absl::Duration Backoff::Jittered(absl::Duration ceiling) {
  double fraction = absl::Uniform(random_, 0.5, 1.0);
  return ceiling * fraction;
}

absl::Duration Backoff::Next() {
  absl::Duration ceiling = options_.initial;
  for (int i = 0; i < failures_ && ceiling < options_.cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options_.cap);
  failures_++;
  return Jittered(ceiling);
}

absl::Duration Backoff::Slowest() {
  failures_++;
  return Jittered(options_.cap);
}

}  // namespace migratekit::tunnel
