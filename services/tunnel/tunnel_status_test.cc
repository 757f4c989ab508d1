#include "services/tunnel/tunnel_status.h"

#include <string>

#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

class TunnelStatusTest : public ::testing::Test {
 protected:
  TunnelStatusTest()
      : specs_({*ParseForwardSpec(ForwardDirection::kLocal,
                                  "127.0.0.1:10808:127.0.0.1:10809"),
                *ParseForwardSpec(ForwardDirection::kRemote,
                                  "127.0.0.1:9081:127.0.0.1:8081")}),
        store_("oma:443", "vma_tunnel", specs_, &registry_,
               [this](bool serving) { serving_ = serving; }) {}

  std::vector<ForwardSpec> specs_;
  prometheus::Registry registry_;
  bool serving_ = false;
  TunnelStatusStore store_;
};

TEST_F(TunnelStatusTest, StartsConnectingWithPendingForwards) {
  v1::TunnelStatus status = store_.Snapshot();
  EXPECT_EQ(status.state(), v1::TUNNEL_STATE_CONNECTING);
  ASSERT_EQ(status.forwards_size(), 2);
  EXPECT_EQ(status.forwards(1).name(), "reverse[9081]");
  EXPECT_EQ(status.forwards(1).state(), v1::FORWARD_STATE_PENDING);
  EXPECT_EQ(status.server(), "oma:443");
}

TEST_F(TunnelStatusTest, ServingOnlyWhileUp) {
  store_.SetState(v1::TUNNEL_STATE_DEGRADED);
  EXPECT_FALSE(serving_);
  store_.SetState(v1::TUNNEL_STATE_UP);
  EXPECT_TRUE(serving_);
  store_.SetState(v1::TUNNEL_STATE_DOWN);
  EXPECT_FALSE(serving_);
}

TEST_F(TunnelStatusTest, CountsFailuresAndBytesPerForward) {
  store_.ForwardFailed(1, "refused", "tcpip-forward: denied");
  store_.ChannelOpenFailed(0, "prohibited");
  store_.ChannelOpened(0);
  store_.AddBytes(0, 10, 20);
  v1::TunnelStatus status = store_.Snapshot();
  EXPECT_EQ(status.forwards(1).state(), v1::FORWARD_STATE_FAILED);
  EXPECT_EQ(status.forwards(1).last_error(), "tcpip-forward: denied");
  EXPECT_EQ(status.forwards(1).failures_by_reason().at("refused"), 1u);
  EXPECT_EQ(status.forwards(0).failures_by_reason().at("prohibited"), 1u);
  EXPECT_EQ(status.forwards(0).open_channels(), 1u);
  EXPECT_EQ(status.live_channels(), 1u);
  EXPECT_EQ(status.forwards(0).bytes_sent(), 10u);
  EXPECT_EQ(status.forwards(0).bytes_received(), 20u);
}

TEST_F(TunnelStatusTest, WatchersSeeStateChangesNotCounters) {
  uint64_t version = 0;
  store_.WaitForChange(&version, absl::Now());
  store_.AddBytes(0, 1, 1);
  EXPECT_FALSE(store_.WaitForChange(&version, absl::Now()));
  store_.SetForwardState(0, v1::FORWARD_STATE_ESTABLISHED);
  EXPECT_TRUE(store_.WaitForChange(&version, absl::Now()));
}

}  // namespace
}  // namespace migratekit::tunnel
