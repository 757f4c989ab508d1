#include "services/tunnel/byte_ring.h"

#include <string>

#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

void Put(ByteRing& ring, const std::string& text, bool pinned = false) {
  char* back = ring.back(pinned);
  ASSERT_GE(ring.room(), text.size());
  memcpy(back, text.data(), text.size());
  ring.Appended(text.size());
}

TEST(ByteRing, KeepsOrderAndEmptiesToTheStart) {
  ByteRing ring(8);
  Put(ring, "abcd");
  EXPECT_EQ(std::string(ring.front(), ring.size()), "abcd");
  ring.Consumed(4);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.room(), 8u);
}

TEST(ByteRing, CompactsOnlyWhenNotPinned) {
  ByteRing ring(8);
  Put(ring, "abcdefg");
  ring.Consumed(5);
  const char* front = ring.front();
  ring.back(/*pinned=*/true);
  EXPECT_EQ(ring.front(), front);
  EXPECT_EQ(ring.room(), 1u);
  ring.back(/*pinned=*/false);
  EXPECT_EQ(std::string(ring.front(), ring.size()), "fg");
  EXPECT_EQ(ring.room(), 6u);
}

}  // namespace
}  // namespace migratekit::tunnel
