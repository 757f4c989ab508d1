// SHA-256 of a whole disk read over NBD, with a digest per chunk as well,
// so that two disks that differ can be told apart by the first range that
// differs rather than only "not equal".
#ifndef MIGRATEKIT_SERVICES_VMA_API_DISK_DIGEST_H_
#define MIGRATEKIT_SERVICES_VMA_API_DISK_DIGEST_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/vma-api/extent_plan.h"

namespace migratekit::vma {

struct DiskDigest {
  // SHA-256 of every byte in order, in hex.
  std::string hex;
  uint64_t size = 0;
  uint64_t chunk_size = 0;
  // SHA-256 of each chunk_size piece, in order.
  std::vector<std::array<unsigned char, 32>> chunks;
};

// Reads the disk at `uri` with a few requests in flight and digests its
// first `limit` bytes (all of it when 0 or past its end: a target may be
// larger than its source). `role` ("source", "target") starts error
// messages. CANCELLED when `cancel` is set.
absl::StatusOr<DiskDigest> DigestDisk(const std::string& uri,
                                      absl::string_view role,
                                      uint64_t chunk_size, uint64_t limit,
                                      const std::atomic<bool>* cancel);

// The first chunk that differs between two digests of the same chunk size
// (or the tail where one disk is longer); none when the disks are equal.
std::optional<Range> FirstDifference(const DiskDigest& a, const DiskDigest& b);

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_DISK_DIGEST_H_
