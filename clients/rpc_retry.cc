#include "clients/rpc_retry.h"

#include <algorithm>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "services/common/grpc_status.h"

namespace migratekit::clients {

absl::Duration BackoffFor(const CallOptions& options, int attempt) {
  absl::Duration wait = options.initial_backoff;
  for (int i = 1; i < attempt && wait < options.max_backoff; ++i) wait *= 2;
  wait = std::min(wait, options.max_backoff);
  static absl::BitGen random;
  return wait * (1.0 - absl::Uniform(random, 0.0, 0.2));
}

absl::Status CallWithRetry(
    const CallOptions& options, bool idempotent, const std::string& what,
    const std::function<grpc::Status(grpc::ClientContext*)>& attempt) {
  absl::Time give_up = absl::Now() + options.retry_budget;
  for (int number = 1;; ++number) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
    absl::Status status = FromGrpcStatus(attempt(&context));
    if (status.ok()) return status;

    absl::Duration wait = BackoffFor(options, number);
    bool retry = idempotent &&
                 status.code() == absl::StatusCode::kUnavailable &&
                 absl::Now() + wait < give_up;
    if (!retry) {
      return absl::Status(status.code(),
                          absl::StrCat(what, ": ", status.message()));
    }
    absl::SleepFor(wait);
  }
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  // Fail fast rather than wait for a service that is not there: the retry
  // loop above decides how long to keep trying.
  arguments.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   arguments);
}

}  // namespace migratekit::clients
