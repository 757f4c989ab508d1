// What tunnel-manager knows about its session and forwards, shared between
// the event loop (which writes it) and the gRPC service and health (which
// read it), and mirrored into the Prometheus metrics.
//
// The event loop reports events (a session came up, a forward was refused,
// bytes moved); readers take a snapshot as a TunnelStatus message, or wait
// for the next change of state.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_STATUS_H_
#define MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_STATUS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/tunnel/v1/tunnel.pb.h"
#include "services/tunnel/forward_spec.h"

namespace migratekit::tunnel {

class TunnelStatusStore {
 public:
  // `on_serving` is called (under no lock of ours) whenever "up with every
  // forward established" changes.
  TunnelStatusStore(std::string server, std::string user,
                    const std::vector<ForwardSpec>& forwards,
                    prometheus::Registry* registry,
                    std::function<void(bool)> on_serving);

  // Session-level events.
  void SetState(v1::TunnelState state);
  void SessionUp(const std::string& fingerprint, const std::string& cipher,
                 const std::string& mac);
  void ConnectFailed(const std::string& reason, const absl::Status& error);
  void SessionLost(const absl::Status& error);
  void SetNextAttempt(absl::Time when);
  void KeepaliveSent(absl::Time when);

  // Forward-level events; `forward` indexes the spec list.
  void SetForwardState(int forward, v1::ForwardState state,
                       const std::string& error = "");
  void ForwardFailed(int forward, const std::string& reason,
                     const std::string& error);
  void ChannelOpened(int forward);
  void ChannelClosed(int forward);
  void ChannelOpenFailed(int forward, const std::string& reason);
  void AddBytes(int forward, uint64_t sent, uint64_t received);

  v1::TunnelStatus Snapshot() const;
  // Waits until the state version differs from `*version` or `deadline`;
  // updates `*version`. Returns true on a change.
  bool WaitForChange(uint64_t* version, absl::Time deadline) const;
  // Wakes every waiter (at shutdown).
  void WakeAll();

 private:
  struct ForwardMetrics {
    prometheus::Gauge* up;
    prometheus::Gauge* channels;
    prometheus::Counter* bytes_sent;
    prometheus::Counter* bytes_received;
  };

  void ChangedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyServing();
  bool ServingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  v1::TunnelStatus status_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void(bool)> on_serving_;

  prometheus::Gauge* up_;
  prometheus::Counter* connects_;
  prometheus::Family<prometheus::Counter>* connect_failures_;
  prometheus::Family<prometheus::Counter>* channel_open_failures_;
  prometheus::Family<prometheus::Counter>* forward_failures_;
  prometheus::Gauge* last_keepalive_;
  prometheus::Gauge* live_channels_;
  std::vector<ForwardMetrics> forward_metrics_;
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_TUNNEL_STATUS_H_
