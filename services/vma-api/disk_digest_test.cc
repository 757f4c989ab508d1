#include "services/vma-api/disk_digest.h"

#include <gtest/gtest.h>

namespace migratekit::vma {
namespace {

DiskDigest Digest(uint64_t size, std::vector<unsigned char> first_bytes) {
  DiskDigest digest;
  digest.size = size;
  digest.chunk_size = 100;
  for (unsigned char byte : first_bytes) {
    std::array<unsigned char, 32> chunk{};
    chunk[0] = byte;
    digest.chunks.push_back(chunk);
  }
  return digest;
}

TEST(FirstDifference, EqualDisksHaveNone) {
  EXPECT_FALSE(FirstDifference(Digest(250, {1, 2, 3}), Digest(250, {1, 2, 3}))
                   .has_value());
}

TEST(FirstDifference, NamesTheFirstDifferingChunkClampedToTheDisk) {
  auto range = FirstDifference(Digest(250, {1, 2, 3}), Digest(250, {1, 2, 4}));
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, (Range{200, 50}));

  range = FirstDifference(Digest(250, {1, 9, 4}), Digest(250, {1, 2, 4}));
  EXPECT_EQ(*range, (Range{100, 100}));
}

TEST(FirstDifference, ALongerTargetDiffersAfterTheSource) {
  auto range = FirstDifference(Digest(200, {1, 2}), Digest(300, {1, 2, 3}));
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, (Range{200, 100}));
}

}  // namespace
}  // namespace migratekit::vma
