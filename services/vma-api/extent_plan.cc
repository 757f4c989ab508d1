#include "services/vma-api/extent_plan.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace migratekit::vma {
namespace {

// libnbd's flag for "this range reads as zeroes" in base:allocation.
constexpr uint32_t kStateZero = 2;

}  // namespace

absl::StatusOr<std::vector<Range>> NormalizeWork(
    const std::vector<Range>& changed, uint64_t disk_size) {
  if (changed.empty()) {
    if (disk_size == 0) return std::vector<Range>{};
    return std::vector<Range>{{0, disk_size}};
  }

  std::vector<Range> sorted = changed;
  for (const Range& range : sorted) {
    if (range.length == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "changed extent at offset ", range.offset, " has length 0"));
    }
    if (range.offset > disk_size || range.length > disk_size - range.offset) {
      return absl::InvalidArgumentError(absl::StrCat(
          "changed extent [", range.offset, ", +", range.length,
          ") reaches past the end of the source (", disk_size, " bytes)"));
    }
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Range& a, const Range& b) { return a.offset < b.offset; });

  std::vector<Range> merged;
  for (const Range& range : sorted) {
    if (!merged.empty() && range.offset <= merged.back().end()) {
      uint64_t end = std::max(merged.back().end(), range.end());
      merged.back().length = end - merged.back().offset;
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

std::vector<Range> TrimWork(const std::vector<Range>& work, uint64_t offset) {
  std::vector<Range> left;
  for (const Range& range : work) {
    if (range.end() <= offset) continue;
    if (range.offset >= offset) {
      left.push_back(range);
    } else {
      left.push_back({offset, range.end() - offset});
    }
  }
  return left;
}

uint64_t TotalBytes(const std::vector<Range>& ranges) {
  uint64_t total = 0;
  for (const Range& range : ranges) total += range.length;
  return total;
}

std::vector<Range> CutIntoSegments(const std::vector<Range>& work,
                                   uint64_t segment_size) {
  std::vector<Range> segments;
  for (const Range& range : work) {
    for (uint64_t at = range.offset; at < range.end(); at += segment_size) {
      segments.push_back({at, std::min(segment_size, range.end() - at)});
    }
  }
  return segments;
}

uint64_t StatusQueryLength(const Range& range, uint64_t offset,
                           uint64_t max_query) {
  if (offset >= range.end()) return 0;
  return std::min(range.end() - offset, max_query);
}

uint64_t AppendStatusEntries(const Range& query, const uint32_t* entries,
                             size_t pair_count, std::vector<Extent>* out) {
  uint64_t at = query.offset;
  for (size_t i = 0; i < pair_count && at < query.end(); ++i) {
    uint64_t length = std::min<uint64_t>(entries[2 * i], query.end() - at);
    if (length == 0) break;  // a malformed reply: let the caller ask again
    bool zero = (entries[2 * i + 1] & kStateZero) != 0;

    if (!out->empty() && out->back().end() == at && out->back().zero == zero) {
      out->back().length += length;
    } else {
      out->push_back({at, length, zero});
    }
    at += length;
  }
  return at - query.offset;
}

std::vector<Request> SplitIntoRequests(const std::vector<Extent>& extents,
                                       uint64_t data_max, uint64_t zero_max) {
  std::vector<Request> requests;
  for (const Extent& extent : extents) {
    Request::Kind kind =
        extent.zero ? Request::Kind::kZero : Request::Kind::kData;
    uint64_t max = extent.zero ? zero_max : data_max;
    for (uint64_t at = extent.offset; at < extent.end(); at += max) {
      requests.push_back({at, std::min(max, extent.end() - at), kind});
    }
  }
  return requests;
}

}  // namespace migratekit::vma
