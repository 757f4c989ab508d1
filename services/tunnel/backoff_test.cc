#include "services/tunnel/backoff.h"

#include "gtest/gtest.h"

namespace migratekit::tunnel {
namespace {

TEST(Backoff, DoublesUpToTheCapWithJitter) {
  Backoff backoff({.initial = absl::Seconds(1), .cap = absl::Seconds(8)});
  const double ceilings[] = {1, 2, 4, 8, 8, 8};
  for (double ceiling : ceilings) {
    double wait = absl::ToDoubleSeconds(backoff.Next());
    EXPECT_GE(wait, ceiling / 2);
    EXPECT_LE(wait, ceiling);
  }
}

TEST(Backoff, ResetStartsOver) {
  Backoff backoff({.initial = absl::Seconds(1), .cap = absl::Seconds(64)});
  for (int i = 0; i < 5; ++i) backoff.Next();
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Seconds(1));
}

TEST(Backoff, SlowestIsNearTheCap) {
  Backoff backoff({.initial = absl::Seconds(1), .cap = absl::Seconds(30)});
  absl::Duration wait = backoff.Slowest();
  EXPECT_GE(wait, absl::Seconds(15));
  EXPECT_LE(wait, absl::Seconds(30));
}

TEST(Backoff, JitterSpreadsAttempts) {
  Backoff a({.initial = absl::Seconds(10), .cap = absl::Seconds(10)});
  bool differ = false;
  absl::Duration first = a.Next();
  for (int i = 0; i < 20 && !differ; ++i) differ = a.Next() != first;
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace migratekit::tunnel
