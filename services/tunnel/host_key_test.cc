#include "services/tunnel/host_key.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

const HostPort kServer{"127.0.0.1", 2222};

std::string Line(absl::string_view hosts, absl::string_view blob) {
  return absl::StrCat(hosts, " ssh-ed25519 ", absl::Base64Escape(blob),
                      " comment\n");
}

TEST(Fingerprint, IsUnpaddedBase64OfTheDigest) {
  std::string digest(32, '\0');
  EXPECT_EQ(FingerprintFromSha256(digest),
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

TEST(KnownHostsName, BracketsNonDefaultPorts) {
  EXPECT_EQ(KnownHostsName({"oma", 22}), "oma");
  EXPECT_EQ(KnownHostsName({"oma", 443}), "[oma]:443");
}

TEST(KnownHosts, AcceptsThePinnedKey) {
  std::string text =
      "# comment\n" + Line("other", "x") + Line("oma,[127.0.0.1]:2222", "key");
  EXPECT_TRUE(CheckKnownHosts(text, kServer, "key", "SHA256:f").ok());
}

TEST(KnownHosts, RefusesAChangedKeyNamingTheLineAndFingerprint) {
  absl::Status status = CheckKnownHosts(Line("[127.0.0.1]:2222", "old"),
                                        kServer, "new", "SHA256:seen");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("changed"), std::string::npos);
  EXPECT_NE(status.message().find("SHA256:seen"), std::string::npos);
  EXPECT_NE(status.message().find("line 1"), std::string::npos);
}

TEST(KnownHosts, RefusesAnUnknownServer) {
  // The same host on another port is another server.
  absl::Status status = CheckKnownHosts(Line("[127.0.0.1]:22", "key"), kServer,
                                        "key", "SHA256:seen");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("unknown"), std::string::npos);
}

TEST(KnownHosts, RefusesARevokedKey) {
  std::string text = "@revoked " + Line("[127.0.0.1]:2222", "key") +
                     Line("[127.0.0.1]:2222", "key");
  EXPECT_FALSE(CheckKnownHosts(text, kServer, "key", "SHA256:f").ok());
}

TEST(Fingerprint, ComparesPinnedToSeen) {
  EXPECT_TRUE(CheckFingerprint("SHA256:abc", "SHA256:abc").ok());
  EXPECT_TRUE(CheckFingerprint("SHA256:abc=", "SHA256:abc").ok());
  absl::Status status = CheckFingerprint("SHA256:abc", "SHA256:xyz");
  EXPECT_NE(status.message().find("SHA256:xyz"), std::string::npos);
}

}  // namespace
}  // namespace migratekit::tunnel
