#include "services/exports/export_validation.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace migratekit::exports {
namespace {

TEST(ValidateVolumeId, AcceptsTheAllowedSet) {
  EXPECT_TRUE(ValidateVolumeId("42").ok());
  EXPECT_TRUE(ValidateVolumeId("vol_A-9").ok());
  EXPECT_TRUE(ValidateVolumeId(std::string(64, 'x')).ok());
}

TEST(ValidateVolumeId, RefusesEverythingElseNamingTheProblem) {
  for (const std::string& id : std::vector<std::string>{
           "a/b", "..", "a\nb", "a[b", "a]b", "a=b", "a#b", "a b",
           "vol-\xc3\xa9", "-a", "_a", "a.b", std::string("a\0b", 3)}) {
    absl::Status status = ValidateVolumeId(id);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_NE(status.message().find("has character"), absl::string_view::npos)
        << status.message();
  }
  EXPECT_NE(ValidateVolumeId("").message().find("empty"),
            absl::string_view::npos);
  EXPECT_NE(ValidateVolumeId(std::string(65, 'x')).message().find("65"),
            absl::string_view::npos);
}

TEST(ExportName, PrefixesAndParsesBack) {
  EXPECT_EQ(ExportName("42"), "migration-vol-42");
  EXPECT_EQ(VolumeIdOf("migration-vol-42"), "42");
  EXPECT_EQ(VolumeIdOf("migration-vol-"), "");
  EXPECT_EQ(VolumeIdOf("migration-vol-a b"), "");
  EXPECT_EQ(VolumeIdOf("other-42"), "");
}

class CheckDeviceTest : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/check_device.XXXXXX";
    dir_ = mkdtemp(pattern);
    file_ = dir_ + "/disk.img";
    std::ofstream(file_) << std::string(4096, 'x');
  }
  void TearDown() override {
    unlink(file_.c_str());
    rmdir(dir_.c_str());
  }

  std::string dir_;
  std::string file_;
};

TEST_F(CheckDeviceTest, RegularFileOnlyWithTheFlag) {
  absl::StatusOr<Device> device = CheckDevice(file_, true);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->size_bytes, 4096u);
  EXPECT_FALSE(device->is_block);

  absl::Status refused = CheckDevice(file_, false).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("regular file"), absl::string_view::npos);
}

TEST_F(CheckDeviceTest, RefusesBadPaths) {
  EXPECT_EQ(CheckDevice("disk.img", true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckDevice(dir_ + "/missing", true).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::Status directory = CheckDevice(dir_, true).status();
  EXPECT_EQ(directory.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(directory.message().find("directory"), absl::string_view::npos);
  EXPECT_EQ(CheckDevice(dir_ + "/../" + dir_.substr(5) + "/disk.img", true)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckDevice(dir_ + "/disk.img\n", true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CheckDeviceTest, SameFileIsTheSameDevice) {
  std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(file_.c_str(), link.c_str()), 0);
  absl::StatusOr<Device> one = CheckDevice(file_, true);
  ASSERT_TRUE(one.ok());
  // The link is refused (not canonical), but its target is the same file.
  EXPECT_EQ(CheckDevice(link, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  Device copy = *one;
  copy.path = "/elsewhere";
  EXPECT_TRUE(one->SameAs(copy));
  unlink(link.c_str());
}

}  // namespace
}  // namespace migratekit::exports
