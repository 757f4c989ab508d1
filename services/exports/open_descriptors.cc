#include "services/exports/open_descriptors.h"

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace migratekit::exports {
namespace {

std::string CommandOf(absl::string_view pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  std::getline(file, name);
  return name;
}

int CountInProcess(absl::string_view pid, const Device& device) {
  std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* handle = opendir(fd_dir.c_str());
  if (handle == nullptr) return 0;
  int count = 0;
  while (struct dirent* entry = readdir(handle)) {
    if (entry->d_name[0] == '.') continue;
    struct stat info;
    std::string path = absl::StrCat(fd_dir, "/", entry->d_name);
    if (stat(path.c_str(), &info) != 0) continue;
    bool same =
        device.is_block
            ? S_ISBLK(info.st_mode) && info.st_rdev == device.rdev
            : info.st_dev == device.id_dev && info.st_ino == device.id_ino;
    if (same) ++count;
  }
  closedir(handle);
  return count;
}

}  // namespace

int CountOpenDescriptors(const Device& device, const std::string& program) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  int count = 0;
  while (struct dirent* entry = readdir(proc)) {
    int pid;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    if (CommandOf(entry->d_name) != program) continue;
    count += CountInProcess(entry->d_name, device);
  }
  closedir(proc);
  return count;
}

}  // namespace migratekit::exports
