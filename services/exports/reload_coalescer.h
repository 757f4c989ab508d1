// Serialises and coalesces reloads of the NBD server. Many creates at once
// each need "a reload that started after my file was written"; one reload
// satisfies all of them. The first caller runs the reload on its own thread;
// callers that arrive while it runs wait and are served together by the
// next one.
//
//   ReloadCoalescer coalescer([&] { return server.Reload(); });
//   // after writing the export's file:
//   absl::Status status = coalescer.Reload();
//
// With N concurrent callers at most about two reloads run per batch, never
// two at the same time.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_RELOAD_COALESCER_H_
#define MIGRATEKIT_SERVICES_EXPORTS_RELOAD_COALESCER_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace migratekit::exports {

class ReloadCoalescer {
 public:
  explicit ReloadCoalescer(std::function<absl::Status()> reload);

  ReloadCoalescer(const ReloadCoalescer&) = delete;
  ReloadCoalescer& operator=(const ReloadCoalescer&) = delete;

  // Returns once a reload that began after this call has finished, with
  // that reload's status.
  absl::Status Reload();

  // How many reloads have run.
  int64_t reloads() const;

 private:
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<absl::Status()> reload_;

  mutable absl::Mutex mu_;
  int64_t requested_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_status_ ABSL_GUARDED_BY(mu_);
  int64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_RELOAD_COALESCER_H_
