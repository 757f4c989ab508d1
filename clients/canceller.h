// Lets one thread end another thread's streaming call: the stream registers
// its ClientContext while it runs, and Cancel() cancels it, now or as soon
// as it registers. migctl uses it to stop a watch on Ctrl-C.
#ifndef MIGRATEKIT_CLIENTS_CANCELLER_H_
#define MIGRATEKIT_CLIENTS_CANCELLER_H_

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"

namespace migratekit::clients {

class Canceller {
 public:
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }

  bool cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Registers `context` (nullptr to unregister); cancels it at once if
  // Cancel() came first.
  void Attach(grpc::ClientContext* context) {
    absl::MutexLock lock(&mu_);
    context_ = context;
    if (cancelled_ && context_ != nullptr) context_->TryCancel();
  }

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace migratekit::clients

#endif  // MIGRATEKIT_CLIENTS_CANCELLER_H_
