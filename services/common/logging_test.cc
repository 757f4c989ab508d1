#include "services/common/logging.h"

#include <gtest/gtest.h>

namespace migratekit {
namespace {

TEST(Quoted, PlainTextIsQuotedAsIs) {
  EXPECT_EQ(Quoted("migration-vol-42"), "\"migration-vol-42\"");
}

TEST(Quoted, ControlBytesAndQuotesAreEscaped) {
  EXPECT_EQ(Quoted("a\nb\"c\\\x7f"), "\"a\\x0ab\\\"c\\\\\\x7f\"");
}

TEST(Quoted, LongTextIsCut) {
  EXPECT_EQ(Quoted(std::string(10, 'x'), 4), "\"xxxx\"...");
  EXPECT_EQ(Quoted(std::string(4, 'x'), 4), "\"xxxx\"");
}

TEST(QuotedPath, LongPathIsWhole) {
  std::string path = "/" + std::string(300, 'd') + "/disk.img";
  EXPECT_EQ(QuotedPath(path), "\"" + path + "\"");
}

}  // namespace
}  // namespace migratekit
