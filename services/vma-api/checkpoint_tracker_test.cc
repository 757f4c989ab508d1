#include "services/vma-api/checkpoint_tracker.h"

#include <gtest/gtest.h>

namespace migratekit::vma {
namespace {

TEST(CheckpointTracker, AdvancesOnlyOverAContiguousPrefix) {
  CheckpointTracker tracker({{0, 100}, {100, 100}, {300, 50}}, {});
  EXPECT_EQ(tracker.Current().offset, 0u);
  EXPECT_FALSE(tracker.Current().complete);

  tracker.MarkDone(1, 100, 0);  // out of order: nothing moves
  EXPECT_EQ(tracker.Current().offset, 0u);
  EXPECT_EQ(tracker.Current().copied, 0u);

  tracker.MarkDone(0, 60, 40);
  // Both finished; the next unfinished segment starts at 300.
  EXPECT_EQ(tracker.Current().offset, 300u);
  EXPECT_EQ(tracker.Current().copied, 160u);
  EXPECT_EQ(tracker.Current().zeroed, 40u);

  tracker.MarkDone(2, 0, 50);
  EXPECT_EQ(tracker.Current().offset, 350u);
  EXPECT_TRUE(tracker.Current().complete);
  EXPECT_EQ(tracker.Current().zeroed, 90u);
}

TEST(CheckpointTracker, CarriesOnFromAResumedCheckpoint) {
  Checkpoint start{.offset = 200, .copied = 150, .zeroed = 50};
  CheckpointTracker tracker({{200, 100}}, start);
  EXPECT_EQ(tracker.Current().offset, 200u);
  tracker.MarkDone(0, 100, 0);
  EXPECT_EQ(tracker.Current().copied, 250u);
  EXPECT_EQ(tracker.Current().offset, 300u);
}

TEST(CheckpointTracker, NothingLeftIsComplete) {
  Checkpoint start{.offset = 500, .copied = 500};
  CheckpointTracker tracker({}, start);
  EXPECT_TRUE(tracker.Current().complete);
  EXPECT_EQ(tracker.Current().offset, 500u);
}

TEST(CheckpointTrackerDeathTest, FinishingASegmentTwiceIsABug) {
  CheckpointTracker tracker({{0, 100}}, {});
  tracker.MarkDone(0, 100, 0);
  EXPECT_DEATH(tracker.MarkDone(0, 100, 0), "finished twice");
}

}  // namespace
}  // namespace migratekit::vma
