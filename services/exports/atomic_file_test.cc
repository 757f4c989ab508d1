#include "services/exports/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace migratekit::exports {
namespace {

class AtomicFileTest : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/atomic_file.XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override {
    std::string command = "rm -rf " + dir_;
    ASSERT_EQ(system(command.c_str()), 0);
  }
  std::string Read(const std::string& name) {
    std::ifstream file(dir_ + "/" + name);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  std::string dir_;
};

TEST_F(AtomicFileTest, WritesAndReplacesWholeFiles) {
  ASSERT_TRUE(WriteFileAtomically(dir_, "a.conf", "one\n").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_, "a.conf", "two\n").ok());
  EXPECT_EQ(Read("a.conf"), "two\n");
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"a.conf"});
}

TEST_F(AtomicFileTest, RepointsLinksAndRemoves) {
  ASSERT_TRUE(ReplaceSymlinkAtomically(dir_, "l", "/dev/null").ok());
  ASSERT_TRUE(ReplaceSymlinkAtomically(dir_, "l", "/dev/zero").ok());
  char target[64] = {};
  ASSERT_GT(readlink((dir_ + "/l").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_STREQ(target, "/dev/zero");
  ASSERT_TRUE(RemoveDurably(dir_, "l").ok());
  ASSERT_TRUE(RemoveDurably(dir_, "l").ok());
  EXPECT_TRUE(ListDirectory(dir_)->empty());
}

TEST_F(AtomicFileTest, TemporaryNamesAreNeverConfAndAreCleared) {
  // What a write killed before its rename leaves behind.
  std::ofstream(dir_ + "/.tmp-migration-vol-1.conf-Ab12Cd") << "[migr";
  std::ofstream(dir_ + "/keep.conf") << "x";
  absl::StatusOr<std::vector<std::string>> removed = RemoveLeftovers(dir_);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_EQ(*ListDirectory(dir_), std::vector<std::string>{"keep.conf"});
}

TEST_F(AtomicFileTest, MakesNestedDirectories) {
  ASSERT_TRUE(MakeDirectories(dir_ + "/a/b/c").ok());
  EXPECT_EQ(access((dir_ + "/a/b/c").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace migratekit::exports
