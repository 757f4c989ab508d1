#include "services/exports/reload_coalescer.h"

#include <utility>

namespace migratekit::exports {

ReloadCoalescer::ReloadCoalescer(std::function<absl::Status()> reload)
    : reload_(std::move(reload)) {}

absl::Status ReloadCoalescer::Reload() {
  absl::MutexLock lock(&mu_);
  const int64_t ticket = ++requested_;

  // Someone else is reloading: wait until a reload covering our ticket ends
  // or nobody runs one (then we run it).
  mu_.Await(absl::Condition(this, &ReloadCoalescer::IdleLocked));
  if (completed_ >= ticket) return last_status_;

  // Every request up to now is written to disk, so one reload covers them.
  running_ = true;
  const int64_t covered = requested_;
  mu_.Unlock();
  absl::Status status = reload_();
  mu_.Lock();
  running_ = false;
  completed_ = covered;
  last_status_ = status;
  ++reloads_;
  return status;
}

bool ReloadCoalescer::IdleLocked() const { return !running_; }

int64_t ReloadCoalescer::reloads() const {
  absl::MutexLock lock(&mu_);
  return reloads_;
}

}  // namespace migratekit::exports
