#include "services/common/flag_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "services/common/test_config.pb.h"

ABSL_FLAG(std::string, test_name, "none", "for the test");
ABSL_FLAG(uint32_t, test_count, 1, "for the test");
ABSL_FLAG(bool, test_enabled, false, "for the test");
ABSL_FLAG(std::vector<std::string>, test_list, {}, "for the test");
ABSL_FLAG(double, test_ratio, 0.5, "for the test");

namespace migratekit {
namespace {

std::string WriteTemp(const std::string& text) {
  std::string path = std::string(getenv("TEST_TMPDIR")) + "/config.textproto";
  std::ofstream(path) << text;
  return path;
}

TEST(FlagConfig, EveryFieldOfTheConfigNeedsAFlag) {
  EXPECT_TRUE(CheckConfigMatchesFlags(*test::TestConfig::descriptor()).ok());
  absl::Status status =
      CheckConfigMatchesFlags(*test::BrokenConfig::descriptor());
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no_such_flag_here"), std::string::npos);
}

TEST(FlagConfig, FileValuesBecomeFlagValues) {
  std::string path = WriteTemp(
      "test_name: \"from file\"\n"
      "test_count: 42\n"
      "test_enabled: true\n"
      "test_list: \"a\"\n"
      "test_list: \"b\"\n"
      "test_ratio: 0.25\n");
  ASSERT_TRUE(ApplyConfigFile(path, test::TestConfig()).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "from file");
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 42u);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_enabled));
  EXPECT_EQ(absl::StrJoin(absl::GetFlag(FLAGS_test_list), "|"), "a|b");
  EXPECT_DOUBLE_EQ(absl::GetFlag(FLAGS_test_ratio), 0.25);
}

TEST(FlagConfig, SyntaxErrorNamesTheLine) {
  std::string path = WriteTemp("test_name: \"ok\"\ntest_count: -3\n");
  absl::Status status = ApplyConfigFile(path, test::TestConfig());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("line 2"), std::string::npos)
      << status.message();
}

TEST(FlagConfig, UnknownFieldIsRefused) {
  std::string path = WriteTemp("test_nmae: \"typo\"\n");
  absl::Status status = ApplyConfigFile(path, test::TestConfig());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test_nmae"), std::string::npos)
      << status.message();
}

TEST(FlagConfig, MissingFileIsNotFound) {
  absl::Status status =
      ApplyConfigFile("/nonexistent/config.textproto", test::TestConfig());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("/nonexistent/config.textproto"),
            std::string::npos);
}

}  // namespace
}  // namespace migratekit
