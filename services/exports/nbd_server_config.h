// The text of nbd-server 3.24's configuration: the base file that
// export-manager generates for the server it supervises, and the one small
// file per export in the include directory. Every export points at a link
// in a directory the manager controls (never at the device itself): the
// server opens the link at each connection, so removing or re-pointing the
// link changes what new connections get, which a SIGHUP cannot do.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_CONFIG_H_
#define MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/net_address.h"

namespace migratekit::exports {

// The name of the read-only export that lets nbd-server start with no
// export of ours (it refuses a config without any).
inline constexpr absl::string_view kPlaceholderExport =
    "migratekit-placeholder";

inline constexpr absl::string_view kConfSuffix = ".conf";

struct BaseConfig {
  HostPort listen;
  std::string include_dir;
  // A small file served read-only as kPlaceholderExport.
  std::string placeholder_path;
};

// The [generic] section (address, port, includedir, allowlist) and the
// placeholder export. INVALID_ARGUMENT if a value could break the file.
absl::StatusOr<std::string> RenderBaseConfig(const BaseConfig& config);

// One export of ours, as written to <include_dir>/<name>.conf.
struct ExportSection {
  std::string name;
  std::string link_path;
  bool read_only = false;

  bool operator==(const ExportSection& other) const {
    return name == other.name && link_path == other.link_path &&
           read_only == other.read_only;
  }
};

// INVALID_ARGUMENT if the name or path could break the file.
absl::StatusOr<std::string> RenderExportSection(const ExportSection& section);

// Reads back a file RenderExportSection wrote. INVALID_ARGUMENT for
// anything else.
absl::StatusOr<ExportSection> ParseExportSection(absl::string_view text);

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_NBD_SERVER_CONFIG_H_
