#include "services/exports/export_links.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/exports/atomic_file.h"
#include "services/exports/export_validation.h"

namespace migratekit::exports {

absl::StatusOr<std::map<std::string, std::string>> ScanExportLinks(
    const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> removed = RemoveLeftovers(dir);
  if (!removed.ok()) return removed.status();
  for (const std::string& name : *removed) {
    spdlog::warn("exports: removed leftover of an interrupted write {}",
                 QuotedPath(absl::StrCat(dir, "/", name)));
  }

  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  if (!names.ok()) return names.status();
  std::map<std::string, std::string> links;
  for (const std::string& name : *names) {
    if (VolumeIdOf(name).empty()) continue;
    char target[4096];
    std::string path = absl::StrCat(dir, "/", name);
    ssize_t length = readlink(path.c_str(), target, sizeof(target) - 1);
    if (length <= 0) continue;
    links[name] = std::string(target, length);
  }
  return links;
}

}  // namespace migratekit::exports
