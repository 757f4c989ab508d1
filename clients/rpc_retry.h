// Deadlines and retries for the client library. Every call gets its own
// deadline; a call that is safe to repeat is tried again with exponential
// backoff and jitter while the server answers UNAVAILABLE (a service being
// restarted, the tunnel being rebuilt), until the retry budget is spent.
#ifndef MIGRATEKIT_CLIENTS_RPC_RETRY_H_
#define MIGRATEKIT_CLIENTS_RPC_RETRY_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace migratekit::clients {

struct CallOptions {
  // Deadline of each attempt.
  absl::Duration deadline = absl::Seconds(30);
  // Total time spent retrying UNAVAILABLE before giving up; zero means one
  // attempt only.
  absl::Duration retry_budget = absl::Seconds(30);
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
};

// The wait before retry number `attempt` (1-based): doubling from
// initial_backoff up to max_backoff, with up to 20% taken off at random so
// that clients restarted together do not retry together.
absl::Duration BackoffFor(const CallOptions& options, int attempt);

// Runs `attempt` with a fresh ClientContext carrying the deadline. When
// `idempotent`, retries while it returns UNAVAILABLE and the budget lasts.
// `what` names the call in the returned error ("exports 127.0.0.1:8083:
// CreateExport: ...").
absl::Status CallWithRetry(
    const CallOptions& options, bool idempotent, const std::string& what,
    const std::function<grpc::Status(grpc::ClientContext*)>& attempt);

// A plaintext channel to `address` ("host:port"). The services bind to
// loopback or sit behind the tunnel; there is no TLS between them.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

}  // namespace migratekit::clients

#endif  // MIGRATEKIT_CLIENTS_RPC_RETRY_H_
