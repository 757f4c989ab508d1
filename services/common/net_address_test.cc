#include "services/common/net_address.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace migratekit {
namespace {

TEST(ParseHostPort, AcceptsHostAndPort) {
  absl::StatusOr<HostPort> parsed = ParseHostPort("127.0.0.1:8082");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 8082);
  EXPECT_EQ(parsed->ToString(), "127.0.0.1:8082");
}

TEST(ParseHostPort, AcceptsBracketedIpv6) {
  absl::StatusOr<HostPort> parsed = ParseHostPort("[::1]:443");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 443);
  EXPECT_EQ(parsed->ToString(), "[::1]:443");
}

TEST(ParseHostPort, RefusesMalformedAddresses) {
  for (const char* text :
       {"", "8082", ":8082", "host:", "host:65536", "host:-1", "host:+1",
        "host:12x", "::1:443", "[::1]443", "[::1"}) {
    EXPECT_FALSE(ParseHostPort(text).ok()) << text;
  }
}

TEST(BindTcp, SecondBindOfTheSamePortSaysAddressInUse) {
  absl::StatusOr<int> first = BindTcp({"127.0.0.1", 0});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<uint16_t> port = LocalPort(*first);
  ASSERT_TRUE(port.ok());
  EXPECT_NE(*port, 0);

  absl::StatusOr<int> second = BindTcp({"127.0.0.1", *port});
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status();
  close(*first);
}

}  // namespace
}  // namespace migratekit
