#include "services/tunnel/tunnel_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

class TunnelOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = tmp ? tmp : "/tmp";
    key_ = dir_ + "/id_test";
    known_ = dir_ + "/known_hosts_test";
    close(open(key_.c_str(), O_CREAT | O_WRONLY, 0600));
    chmod(key_.c_str(), 0600);
    close(open(known_.c_str(), O_CREAT | O_WRONLY, 0644));
    flags_.oma_host = "127.0.0.1";
    flags_.identity = key_;
    flags_.known_hosts = known_;
    flags_.local_forwards = "127.0.0.1:10808:127.0.0.1:10809";
    flags_.remote_forwards = "127.0.0.1:9081:127.0.0.1:8081";
  }

  std::string Error() {
    auto options = BuildTunnelOptions(flags_);
    return options.ok() ? "" : std::string(options.status().message());
  }

  std::string dir_, key_, known_;
  TunnelFlags flags_;
};

TEST_F(TunnelOptionsTest, AcceptsTheDefaults) {
  auto options = BuildTunnelOptions(flags_);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->forwards.size(), 2u);
  EXPECT_EQ(options->ssh.server.port, 443);
  EXPECT_EQ(options->ssh.ciphers, "aes128-ctr");
  EXPECT_EQ(options->pump.keepalive_interval, absl::Seconds(30));
}

TEST_F(TunnelOptionsTest, NamesTheBadSetting) {
  flags_.local_forwards = "10808:127.0.0.1:10809";
  EXPECT_NE(Error().find("--local_forwards"), std::string::npos);
  SetUp();
  flags_.remote_forwards = "127.0.0.1:10808:a:1";
  flags_.local_forwards = "127.0.0.1:10808:a:1,127.0.0.1:10808:b:2";
  EXPECT_NE(Error().find("two forwards"), std::string::npos);
  SetUp();
  flags_.oma_host = "";
  EXPECT_NE(Error().find("--oma_host"), std::string::npos);
  SetUp();
  flags_.oma_host = "no-such-host.invalid";
  EXPECT_NE(Error().find("does not resolve"), std::string::npos);
  SetUp();
  flags_.keepalive_count = 0;
  EXPECT_NE(Error().find("--keepalive_count"), std::string::npos);
}

TEST_F(TunnelOptionsTest, RefusesAnOpenKeyOrAMissingOne) {
  chmod(key_.c_str(), 0644);
  EXPECT_NE(Error().find("too open"), std::string::npos);
  flags_.identity = dir_ + "/missing";
  EXPECT_NE(Error().find("--identity"), std::string::npos);
}

TEST_F(TunnelOptionsTest, NeedsAHostKeyPin) {
  flags_.known_hosts = dir_ + "/missing";
  EXPECT_NE(Error().find("--known_hosts"), std::string::npos);
  flags_.host_key_fingerprint = "SHA256:abc";
  EXPECT_EQ(Error(), "");
  flags_.host_key_fingerprint = "MD5:ab";
  EXPECT_NE(Error().find("--host_key_fingerprint"), std::string::npos);
}

}  // namespace
}  // namespace migratekit::tunnel
