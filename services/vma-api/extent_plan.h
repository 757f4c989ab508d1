// The pure arithmetic of a copy: which byte ranges a job covers, how they
// are cut into segments (the unit of work a connection takes and of
// checkpoints), how a block-status reply becomes extents that never reach
// past what was asked or past the end of the disk, and how extents become
// NBD requests of bounded size.
//
//   auto work = NormalizeWork(changed, disk_size);      // whole disk if empty
//   auto segments = CutIntoSegments(*work, 64 << 20);
//   // per segment, repeated until covered:
//   covered = AppendStatusEntries(query, entries, n, &extents);
//   auto requests = SplitIntoRequests(extents, 2 << 20, 32 << 20);
#ifndef MIGRATEKIT_SERVICES_VMA_API_EXTENT_PLAN_H_
#define MIGRATEKIT_SERVICES_VMA_API_EXTENT_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace migratekit::vma {

// A byte range of a disk.
struct Range {
  uint64_t offset = 0;
  uint64_t length = 0;

  uint64_t end() const { return offset + length; }
  bool operator==(const Range& other) const {
    return offset == other.offset && length == other.length;
  }
};

// A range that either holds data or reads as zero on the source.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool zero = false;

  uint64_t end() const { return offset + length; }
  bool operator==(const Extent& other) const {
    return offset == other.offset && length == other.length &&
           zero == other.zero;
  }
};

// One NBD command to the target (data is read from the source first).
struct Request {
  enum class Kind { kData, kZero };
  uint64_t offset = 0;
  uint64_t length = 0;
  Kind kind = Kind::kData;

  bool operator==(const Request& other) const {
    return offset == other.offset && length == other.length &&
           kind == other.kind;
  }
};

// The ranges a job writes, sorted and merged: the whole disk when `changed`
// is empty, else the changed extents. INVALID_ARGUMENT for an empty extent or
// one past `disk_size`, naming it.
absl::StatusOr<std::vector<Range>> NormalizeWork(
    const std::vector<Range>& changed, uint64_t disk_size);

// The part of `work` at or after `offset` (a checkpoint: everything before
// it is already on the target).
std::vector<Range> TrimWork(const std::vector<Range>& work, uint64_t offset);

// Sum of the lengths.
uint64_t TotalBytes(const std::vector<Range>& ranges);

// `work` cut into pieces of at most `segment_size` bytes, in order; a piece
// never spans two ranges.
std::vector<Range> CutIntoSegments(const std::vector<Range>& work,
                                   uint64_t segment_size);

// The length of the next block-status query inside `range` from `offset`:
// what is left of the range, but at most `max_query` (NBD lengths are 32
// bits).
uint64_t StatusQueryLength(const Range& range, uint64_t offset,
                           uint64_t max_query);

// Appends the `pair_count` (length, flags) pairs of a base:allocation reply
// to a query for `query` as extents, clamped to the query's end (a server
// may describe more than was asked, or run past the end of the disk), and
// merged with the last extent in `out` when of the same kind. A range reads
// as zero when its flags have the ZERO bit (a HOLE alone may hold data).
// Returns the bytes of `query` covered, from its start; the caller asks
// again from there when that is less than the query.
uint64_t AppendStatusEntries(const Range& query, const uint32_t* entries,
                             size_t pair_count, std::vector<Extent>* out);

// Extents as requests: data in pieces of at most `data_max` bytes, zeroes in
// pieces of at most `zero_max` (nbd-server 3.24 zeroes only the first 64 MiB
// of a longer request and still answers success).
std::vector<Request> SplitIntoRequests(const std::vector<Extent>& extents,
                                       uint64_t data_max, uint64_t zero_max);

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_EXTENT_PLAN_H_
