// Checks on everything a CreateExport request brings before any of it
// reaches a file: the volume id becomes part of an export name, a file name
// and an nbd-server config section, so it is held to a strict character set;
// the device path becomes the target of a link the NBD server opens.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_VALIDATION_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_VALIDATION_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace migratekit::exports {

inline constexpr absl::string_view kExportNamePrefix = "migration-vol-";

// OK when `volume_id` matches [A-Za-z0-9][A-Za-z0-9_-]{0,63}; otherwise
// INVALID_ARGUMENT naming the first offending character (escaped).
absl::Status ValidateVolumeId(absl::string_view volume_id);

// "migration-vol-" + volume_id.
std::string ExportName(absl::string_view volume_id);

// The volume id of an export name, or "" when `name` is not one of ours.
std::string VolumeIdOf(absl::string_view export_name);

// A device that passed CheckDevice.
struct Device {
  std::string path;
  bool is_block = false;
  uint64_t size_bytes = 0;
  // Identity of the device node or file, to find two exports of one device
  // under different paths and to find connections holding it open.
  dev_t id_dev = 0;
  ino_t id_ino = 0;
  dev_t rdev = 0;

  bool SameAs(const Device& other) const;
};

// Checks that `path` is absolute and canonical (realpath gives it back),
// exists, and is a block device, or a regular file when
// `allow_regular_files`. Relative or non-canonical paths and unusable
// characters are INVALID_ARGUMENT; a missing path or one of the wrong type
// is FAILED_PRECONDITION.
absl::StatusOr<Device> CheckDevice(const std::string& path,
                                   bool allow_regular_files);

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_VALIDATION_H_
