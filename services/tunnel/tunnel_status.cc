#include "services/tunnel/tunnel_status.h"

#include <google/protobuf/util/time_util.h>

#include <utility>

namespace migratekit::tunnel {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

}  // namespace

TunnelStatusStore::TunnelStatusStore(std::string server, std::string user,
                                     const std::vector<ForwardSpec>& forwards,
                                     prometheus::Registry* registry,
                                     std::function<void(bool)> on_serving)
    : on_serving_(std::move(on_serving)) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  up_ = &BuildGauge()
             .Name("migratekit_tunnel_up")
             .Help("1 while the SSH session is up.")
             .Register(*registry)
             .Add({});
  connects_ = &BuildCounter()
                   .Name("migratekit_tunnel_connects_total")
                   .Help("SSH sessions established.")
                   .Register(*registry)
                   .Add({});
  connect_failures_ = &BuildCounter()
                           .Name("migratekit_tunnel_connect_failures_total")
                           .Help(
                               "Failed session attempts and lost sessions, "
                               "by reason.")
                           .Register(*registry);
  channel_open_failures_ =
      &BuildCounter()
           .Name("migratekit_tunnel_channel_open_failures_total")
           .Help("Connections a forward could not carry, by reason.")
           .Register(*registry);
  forward_failures_ = &BuildCounter()
                           .Name("migratekit_tunnel_forward_failures_total")
                           .Help("Forward set-up failures, by reason.")
                           .Register(*registry);
  last_keepalive_ =
      &BuildGauge()
           .Name("migratekit_tunnel_last_keepalive_timestamp_seconds")
           .Help("Unix time of the last keepalive sent on the session.")
           .Register(*registry)
           .Add({});
  live_channels_ = &BuildGauge()
                        .Name("migratekit_tunnel_live_channels")
                        .Help("Channels open on the session, all forwards.")
                        .Register(*registry)
                        .Add({});
  auto& up = BuildGauge()
                 .Name("migratekit_tunnel_forward_up")
                 .Help("1 while the forward is established.")
                 .Register(*registry);
  auto& channels = BuildGauge()
                       .Name("migratekit_tunnel_forward_channels")
                       .Help("Connections the forward carries now.")
                       .Register(*registry);
  auto& bytes = BuildCounter()
                    .Name("migratekit_tunnel_forward_bytes_total")
                    .Help(
                        "Payload bytes carried; direction sent is from "
                        "the listening side to the connecting side.")
                    .Register(*registry);

  absl::MutexLock lock(&mu_);
  status_.set_state(v1::TUNNEL_STATE_CONNECTING);
  *status_.mutable_since() = ToProto(absl::Now());
  status_.set_server(server);
  status_.set_user(user);
  for (const ForwardSpec& spec : forwards) {
    v1::ForwardStatus* forward = status_.add_forwards();
    forward->set_name(spec.Name());
    forward->set_direction(spec.direction == ForwardDirection::kLocal
                               ? v1::FORWARD_DIRECTION_LOCAL
                               : v1::FORWARD_DIRECTION_REMOTE);
    forward->set_listen_host(spec.listen.host);
    forward->set_listen_port(spec.listen.port);
    forward->set_connect_host(spec.connect.host);
    forward->set_connect_port(spec.connect.port);
    forward->set_state(v1::FORWARD_STATE_PENDING);
    *forward->mutable_state_since() = ToProto(absl::Now());
    const std::string name = spec.Name();
    forward_metrics_.push_back(
        {&up.Add({{"forward", name}}), &channels.Add({{"forward", name}}),
         &bytes.Add({{"forward", name}, {"direction", "sent"}}),
         &bytes.Add({{"forward", name}, {"direction", "received"}})});
  }
}

bool TunnelStatusStore::ServingLocked() const {
  return status_.state() == v1::TUNNEL_STATE_UP;
}

void TunnelStatusStore::ChangedLocked() { version_++; }

void TunnelStatusStore::NotifyServing() {
  bool serving;
  {
    absl::MutexLock lock(&mu_);
    serving = ServingLocked();
    if (serving == serving_) return;
    serving_ = serving;
  }
  if (on_serving_) on_serving_(serving);
}

void TunnelStatusStore::SetState(v1::TunnelState state) {
  {
    absl::MutexLock lock(&mu_);
    if (status_.state() == state) return;
    status_.set_state(state);
    *status_.mutable_since() = ToProto(absl::Now());
    up_->Set(state == v1::TUNNEL_STATE_UP || state == v1::TUNNEL_STATE_DEGRADED
                 ? 1
                 : 0);
    ChangedLocked();
  }
  NotifyServing();
}

void TunnelStatusStore::SessionUp(const std::string& fingerprint,
                                  const std::string& cipher,
                                  const std::string& mac) {
  absl::MutexLock lock(&mu_);
  status_.set_host_key_fingerprint(fingerprint);
  status_.set_cipher(cipher);
  status_.set_mac(mac);
  status_.set_connects_total(status_.connects_total() + 1);
  status_.clear_next_attempt();
  connects_->Increment();
  ChangedLocked();
}

void TunnelStatusStore::ConnectFailed(const std::string& reason,
                                      const absl::Status& error) {
  absl::MutexLock lock(&mu_);
  status_.set_last_error(std::string(error.message()));
  *status_.mutable_last_error_time() = ToProto(absl::Now());
  connect_failures_->Add({{"reason", reason}}).Increment();
  ChangedLocked();
}

void TunnelStatusStore::SessionLost(const absl::Status& error) {
  ConnectFailed("session_lost", error);
}

void TunnelStatusStore::SetNextAttempt(absl::Time when) {
  absl::MutexLock lock(&mu_);
  *status_.mutable_next_attempt() = ToProto(when);
}

void TunnelStatusStore::KeepaliveSent(absl::Time when) {
  absl::MutexLock lock(&mu_);
  *status_.mutable_last_keepalive() = ToProto(when);
  last_keepalive_->Set(absl::ToDoubleSeconds(when - absl::UnixEpoch()));
}

void TunnelStatusStore::SetForwardState(int forward, v1::ForwardState state,
                                        const std::string& error) {
  {
    absl::MutexLock lock(&mu_);
    v1::ForwardStatus* f = status_.mutable_forwards(forward);
    if (!error.empty()) f->set_last_error(error);
    if (state == v1::FORWARD_STATE_ESTABLISHED) f->clear_last_error();
    if (f->state() == state) return;
    f->set_state(state);
    *f->mutable_state_since() = ToProto(absl::Now());
    forward_metrics_[forward].up->Set(
        state == v1::FORWARD_STATE_ESTABLISHED ? 1 : 0);
    ChangedLocked();
  }
  NotifyServing();
}

void TunnelStatusStore::ForwardFailed(int forward, const std::string& reason,
                                      const std::string& error) {
  {
    absl::MutexLock lock(&mu_);
    v1::ForwardStatus* f = status_.mutable_forwards(forward);
    (*f->mutable_failures_by_reason())[reason]++;
    forward_failures_->Add({{"forward", f->name()}, {"reason", reason}})
        .Increment();
  }
  SetForwardState(forward, v1::FORWARD_STATE_FAILED, error);
}

void TunnelStatusStore::ChannelOpened(int forward) {
  absl::MutexLock lock(&mu_);
  v1::ForwardStatus* f = status_.mutable_forwards(forward);
  f->set_open_channels(f->open_channels() + 1);
  f->set_channels_total(f->channels_total() + 1);
  status_.set_live_channels(status_.live_channels() + 1);
  forward_metrics_[forward].channels->Increment();
  live_channels_->Increment();
}

void TunnelStatusStore::ChannelClosed(int forward) {
  absl::MutexLock lock(&mu_);
  v1::ForwardStatus* f = status_.mutable_forwards(forward);
  f->set_open_channels(f->open_channels() - 1);
  status_.set_live_channels(status_.live_channels() - 1);
  forward_metrics_[forward].channels->Decrement();
  live_channels_->Decrement();
}

void TunnelStatusStore::ChannelOpenFailed(int forward,
                                          const std::string& reason) {
  absl::MutexLock lock(&mu_);
  v1::ForwardStatus* f = status_.mutable_forwards(forward);
  (*f->mutable_failures_by_reason())[reason]++;
  channel_open_failures_->Add({{"forward", f->name()}, {"reason", reason}})
      .Increment();
}

void TunnelStatusStore::AddBytes(int forward, uint64_t sent,
                                 uint64_t received) {
  absl::MutexLock lock(&mu_);
  v1::ForwardStatus* f = status_.mutable_forwards(forward);
  f->set_bytes_sent(f->bytes_sent() + sent);
  f->set_bytes_received(f->bytes_received() + received);
  if (sent) forward_metrics_[forward].bytes_sent->Increment(sent);
  if (received) forward_metrics_[forward].bytes_received->Increment(received);
}

v1::TunnelStatus TunnelStatusStore::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

bool TunnelStatusStore::WaitForChange(uint64_t* version,
                                      absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  const uint64_t seen = *version;
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return version_ != seen;
  };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  *version = version_;
  return version_ != seen;
}

void TunnelStatusStore::WakeAll() {
  absl::MutexLock lock(&mu_);
  ChangedLocked();
}

}  // namespace migratekit::tunnel
