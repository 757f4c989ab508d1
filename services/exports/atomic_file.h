// Durable, all-or-nothing changes to the files an NBD server reads: a
// reader sees the old file, the new one, or none, never half of one, even
// if export-manager is killed in the middle. Temporary files are named
// ".tmp-<name>-XXXXXX", which neither nbd-server's includedir (only
// "*.conf") nor the manager's own scans take for a real file, and which
// RemoveLeftovers() clears away on start.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_ATOMIC_FILE_H_
#define MIGRATEKIT_SERVICES_EXPORTS_ATOMIC_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace migratekit::exports {

inline constexpr absl::string_view kTempPrefix = ".tmp-";

// Writes `content` to dir/name: a temporary file, fsync, rename over the
// name, fsync of the directory.
absl::Status WriteFileAtomically(const std::string& dir,
                                 const std::string& name,
                                 absl::string_view content);

// Makes dir/name a symbolic link to `target`, replacing whatever link was
// there in one rename, then fsyncs the directory.
absl::Status ReplaceSymlinkAtomically(const std::string& dir,
                                      const std::string& name,
                                      const std::string& target);

// Removes dir/name (a missing file is fine) and fsyncs the directory.
absl::Status RemoveDurably(const std::string& dir, const std::string& name);

// Creates `dir` (and its parents) when missing.
absl::Status MakeDirectories(const std::string& dir);

// Removes every temporary file an interrupted write left in `dir`; returns
// their names.
absl::StatusOr<std::vector<std::string>> RemoveLeftovers(
    const std::string& dir);

// The names in `dir` other than "." and "..", sorted.
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir);

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_ATOMIC_FILE_H_
