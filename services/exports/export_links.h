// The directory of links both backends serve exports through:
// <link_dir>/<export name> -> device path. The links are the record of
// which exports exist; export-manager rebuilds its list from them on start.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_LINKS_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_LINKS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace migratekit::exports {

// Export name -> link target for every link in `dir` named like one of our
// exports; removes leftovers of interrupted writes first.
absl::StatusOr<std::map<std::string, std::string>> ScanExportLinks(
    const std::string& dir);

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_LINKS_H_
