#include "services/vma-api/extent_plan.h"

#include <gtest/gtest.h>

namespace migratekit::vma {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(NormalizeWork, WholeDiskWhenNoChangedExtents) {
  auto work = NormalizeWork({}, 5000);
  ASSERT_TRUE(work.ok());
  EXPECT_EQ(*work, (std::vector<Range>{{0, 5000}}));
}

TEST(NormalizeWork, SortsAndMergesOverlappingAndTouching) {
  auto work = NormalizeWork({{100, 50}, {0, 10}, {120, 100}, {10, 5}}, 1000);
  ASSERT_TRUE(work.ok());
  EXPECT_EQ(*work, (std::vector<Range>{{0, 15}, {100, 120}}));
}

TEST(NormalizeWork, RejectsEmptyAndOutOfRangeExtents) {
  EXPECT_EQ(NormalizeWork({{0, 0}}, 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto past = NormalizeWork({{900, 101}}, 1000);
  EXPECT_EQ(past.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(past.status().message().find("1000 bytes"), std::string::npos);
  // An offset near 2^64 must not wrap around the check.
  EXPECT_FALSE(NormalizeWork({{~uint64_t{0} - 5, 10}}, 1000).ok());
}

TEST(TrimWork, KeepsWhatIsAtOrAfterTheOffset) {
  std::vector<Range> work = {{0, 100}, {200, 100}, {400, 100}};
  EXPECT_EQ(TrimWork(work, 250), (std::vector<Range>{{250, 50}, {400, 100}}));
  EXPECT_EQ(TrimWork(work, 300), (std::vector<Range>{{400, 100}}));
  EXPECT_EQ(TrimWork(work, 0), work);
  EXPECT_TRUE(TrimWork(work, 500).empty());
}

TEST(CutIntoSegments, NeverSpansTwoRangesAndKeepsTheTail) {
  auto segments = CutIntoSegments({{0, 250}, {300, 100}}, 100);
  EXPECT_EQ(segments,
            (std::vector<Range>{{0, 100}, {100, 100}, {200, 50}, {300, 100}}));
  EXPECT_EQ(TotalBytes(segments), 350u);
}

TEST(StatusQueryLength, ClampsToRangeEndAndMaximum) {
  Range range{kGiB, 5 * kGiB};
  EXPECT_EQ(StatusQueryLength(range, kGiB, 2 * kGiB), 2 * kGiB);
  EXPECT_EQ(StatusQueryLength(range, 5 * kGiB, 2 * kGiB), kGiB);
  EXPECT_EQ(StatusQueryLength(range, 6 * kGiB, 2 * kGiB), 0u);
}

TEST(AppendStatusEntries, ClampsAnExtentThatRunsPastTheQuery) {
  // Field case J2: the last extent of a 1 GiB + 4 KiB disk described as a
  // whole 4 GiB - 1 run of zeroes.
  Range query{kGiB, 4096};
  uint32_t entries[] = {0xffffffff, 3};
  std::vector<Extent> out;
  EXPECT_EQ(AppendStatusEntries(query, entries, 1, &out), 4096u);
  EXPECT_EQ(out, (std::vector<Extent>{{kGiB, 4096, true}}));
}

TEST(AppendStatusEntries, KeepsNeighbouringDataAndMergesSameKind) {
  Range query{0, 8 * kMiB};
  uint32_t entries[] = {kMiB, 0, kMiB, 0, 2 * kMiB, 3, 1 * kMiB, 1};
  std::vector<Extent> out;
  EXPECT_EQ(AppendStatusEntries(query, entries, 4, &out), 5 * kMiB);
  // A HOLE without ZERO may hold data: it is read like data.
  EXPECT_EQ(out, (std::vector<Extent>{{0, 2 * kMiB, false},
                                      {2 * kMiB, 2 * kMiB, true},
                                      {4 * kMiB, kMiB, false}}));

  // The caller asks again for the rest; a continuing run merges.
  uint32_t more[] = {3 * kMiB, 0};
  EXPECT_EQ(AppendStatusEntries({5 * kMiB, 3 * kMiB}, more, 1, &out), 3 * kMiB);
  EXPECT_EQ(out.back(), (Extent{4 * kMiB, 4 * kMiB, false}));
}

TEST(AppendStatusEntries, StopsAtAZeroLengthEntry) {
  uint32_t entries[] = {0, 0, 4096, 0};
  std::vector<Extent> out;
  EXPECT_EQ(AppendStatusEntries({0, 8192}, entries, 2, &out), 0u);
  EXPECT_TRUE(out.empty());
}

TEST(SplitIntoRequests, BoundsDataAndZeroRequests) {
  std::vector<Extent> extents = {{0, 5 * kMiB, false},
                                 {5 * kMiB, 100 * kMiB, true},
                                 {105 * kMiB, 4096, false}};
  auto requests = SplitIntoRequests(extents, 2 * kMiB, 32 * kMiB);
  using K = Request::Kind;
  EXPECT_EQ(requests, (std::vector<Request>{{0, 2 * kMiB, K::kData},
                                            {2 * kMiB, 2 * kMiB, K::kData},
                                            {4 * kMiB, kMiB, K::kData},
                                            {5 * kMiB, 32 * kMiB, K::kZero},
                                            {37 * kMiB, 32 * kMiB, K::kZero},
                                            {69 * kMiB, 32 * kMiB, K::kZero},
                                            {101 * kMiB, 4 * kMiB, K::kZero},
                                            {105 * kMiB, 4096, K::kData}}));
  for (const Request& request : requests) {
    if (request.kind == K::kZero) {
      EXPECT_LE(request.length, 32 * kMiB);
    }
  }
}

}  // namespace
}  // namespace migratekit::vma
