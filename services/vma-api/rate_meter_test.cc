#include "services/vma-api/rate_meter.h"

#include <gtest/gtest.h>

namespace migratekit::vma {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(RateMeter, UnknownUntilTimePasses) {
  RateMeter meter;
  EXPECT_EQ(meter.BytesPerSecond(), 0);
  meter.Add(kStart, 100);
  EXPECT_EQ(meter.BytesPerSecond(), 0);
  EXPECT_FALSE(meter.Eta(1000).has_value());
}

TEST(RateMeter, RateOverTheWindowAndEta) {
  RateMeter meter(absl::Seconds(5));
  for (int second = 0; second <= 10; ++second) {
    // 100 B/s for 5 s, then 1000 B/s.
    uint64_t done = second <= 5 ? second * 100 : 500 + (second - 5) * 1000;
    meter.Add(kStart + absl::Seconds(second), done);
  }
  EXPECT_DOUBLE_EQ(meter.BytesPerSecond(), 1000);
  EXPECT_EQ(*meter.Eta(3000), absl::Seconds(3));
}

TEST(RateMeter, ARetryThatGoesBackStartsAfresh) {
  RateMeter meter;
  meter.Add(kStart, 0);
  meter.Add(kStart + absl::Seconds(1), 1000);
  meter.Add(kStart + absl::Seconds(2), 500);
  EXPECT_EQ(meter.BytesPerSecond(), 0);
  meter.Add(kStart + absl::Seconds(3), 700);
  EXPECT_DOUBLE_EQ(meter.BytesPerSecond(), 200);
}

}  // namespace
}  // namespace migratekit::vma
