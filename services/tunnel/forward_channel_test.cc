#include "services/tunnel/forward_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

class ForwardChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    peer_ = fds[1];
    channel_ = std::make_unique<ForwardChannel>(1, 0, fds[0], 64);
    channel_->state = ForwardChannel::State::kOpen;
  }
  void TearDown() override {
    close(channel_->fd);
    close(peer_);
  }

  ForwardChannel::LocalResult Run(short revents) {
    channel_->revents = revents;
    return channel_->LocalIo(false, &written_, &why_);
  }

  std::string PeerReads() {
    char buffer[256];
    ssize_t n = read(peer_, buffer, sizeof(buffer));
    return n > 0 ? std::string(buffer, n) : "";
  }

  int peer_;
  std::unique_ptr<ForwardChannel> channel_;
  size_t written_ = 0;
  std::string why_;
};

TEST_F(ForwardChannelTest, ReadsWhatTheLocalSideSendsThenItsEof) {
  ASSERT_EQ(write(peer_, "hello", 5), 5);
  EXPECT_EQ(Run(POLLIN), ForwardChannel::LocalResult::kMoved);
  EXPECT_EQ(
      std::string(channel_->to_remote.front(), channel_->to_remote.size()),
      "hello");
  shutdown(peer_, SHUT_WR);
  EXPECT_EQ(Run(POLLIN), ForwardChannel::LocalResult::kMoved);
  EXPECT_TRUE(channel_->local_eof);
}

TEST_F(ForwardChannelTest, ReadsNoMoreThanTheBufferHolds) {
  std::string big(100, 'x');
  ASSERT_EQ(write(peer_, big.data(), big.size()), 100);
  Run(POLLIN);
  EXPECT_EQ(channel_->to_remote.size(), 64u);
  EXPECT_EQ(Run(POLLIN), ForwardChannel::LocalResult::kIdle);
}

TEST_F(ForwardChannelTest, PassesTheServersEofOnOnlyAfterEveryByte) {
  memcpy(channel_->to_local.back(false), "data", 4);
  channel_->to_local.Appended(4);
  channel_->remote_eof = true;
  EXPECT_EQ(Run(0), ForwardChannel::LocalResult::kMoved);
  EXPECT_EQ(written_, 4u);
  EXPECT_TRUE(channel_->local_shut);
  EXPECT_EQ(PeerReads(), "data");
  char byte;
  EXPECT_EQ(read(peer_, &byte, 1), 0);  // then end-of-stream
}

TEST_F(ForwardChannelTest, AWriteToAClosedPeerFails) {
  close(peer_);
  peer_ = -1;
  memcpy(channel_->to_local.back(false), "x", 1);
  channel_->to_local.Appended(1);
  EXPECT_EQ(Run(POLLOUT), ForwardChannel::LocalResult::kFailed);
  EXPECT_NE(why_.find("local write"), std::string::npos);
}

TEST_F(ForwardChannelTest, AFailedConnectIsReported) {
  int fd = ConnectNonBlocking({"127.0.0.1", 1});
  if (fd < 0) {
    EXPECT_EQ(errno, ECONNREFUSED);
    return;
  }
  pollfd p{fd, POLLOUT, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  ForwardChannel connecting(2, 0, fd, 64);
  connecting.state = ForwardChannel::State::kConnecting;
  connecting.revents = p.revents;
  EXPECT_EQ(connecting.LocalIo(false, &written_, &why_),
            ForwardChannel::LocalResult::kConnectFailed);
  EXPECT_NE(why_.find("refused"), std::string::npos);
  close(fd);
}

}  // namespace
}  // namespace migratekit::tunnel
