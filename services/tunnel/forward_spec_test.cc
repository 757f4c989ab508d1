#include "services/tunnel/forward_spec.h"

#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

TEST(ForwardSpec, ParsesSshSyntax) {
  absl::StatusOr<ForwardSpec> spec = ParseForwardSpec(
      ForwardDirection::kLocal, "127.0.0.1:10808:127.0.0.1:10809");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->listen.host, "127.0.0.1");
  EXPECT_EQ(spec->listen.port, 10808);
  EXPECT_EQ(spec->connect.host, "127.0.0.1");
  EXPECT_EQ(spec->connect.port, 10809);
  EXPECT_EQ(spec->Name(), "forward[10808]");
  EXPECT_EQ(spec->ToString(), "127.0.0.1:10808:127.0.0.1:10809");
}

TEST(ForwardSpec, KeepsHostsLiteralAndBracketsV6) {
  absl::StatusOr<ForwardSpec> spec =
      ParseForwardSpec(ForwardDirection::kRemote, "[::1]:9081:localhost:8081");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->listen.host, "::1");
  EXPECT_EQ(spec->connect.host, "localhost");
  EXPECT_EQ(spec->Name(), "reverse[9081]");
}

TEST(ForwardSpec, RejectsMalformed) {
  for (const char* bad :
       {"10808:127.0.0.1:10809", "127.0.0.1:0:127.0.0.1:1",
        "127.0.0.1:70000:h:1", ":1:h:2", "127.0.0.1:1:h:x", "a:1:b:2:c"}) {
    EXPECT_FALSE(ParseForwardSpec(ForwardDirection::kLocal, bad).ok()) << bad;
  }
}

TEST(ForwardSpecs, ParsesListsAndEmpty) {
  absl::StatusOr<std::vector<ForwardSpec>> specs = ParseForwardSpecs(
      ForwardDirection::kLocal, "127.0.0.1:1:h:2, 127.0.0.1:3:h:4");
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ(specs->size(), 2u);
  EXPECT_TRUE(ParseForwardSpecs(ForwardDirection::kLocal, "")->empty());
  EXPECT_FALSE(ParseForwardSpecs(ForwardDirection::kLocal, "x,y").ok());
}

TEST(ForwardSpecs, FindsDuplicateListeners) {
  auto specs = ParseForwardSpecs(ForwardDirection::kLocal,
                                 "127.0.0.1:1:h:2,127.0.0.1:1:h:3");
  ASSERT_TRUE(specs.ok());
  EXPECT_FALSE(CheckNoDuplicateListeners(*specs).ok());
  auto remote = ParseForwardSpecs(ForwardDirection::kRemote, "127.0.0.1:1:h:2");
  std::vector<ForwardSpec> mixed = {specs->front(), remote->front()};
  EXPECT_TRUE(CheckNoDuplicateListeners(mixed).ok());
}

}  // namespace
}  // namespace migratekit::tunnel
