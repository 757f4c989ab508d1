#include "services/exports/export_validation.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace migratekit::exports {
namespace {

constexpr size_t kMaxVolumeIdLength = 64;

bool IsIdCharacter(char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return !first && (c == '_' || c == '-');
}

absl::StatusOr<uint64_t> BlockDeviceSize(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", QuotedPath(path), " cannot be opened: ", strerror(errno)));
  }
  uint64_t size = 0;
  int result = ioctl(fd, BLKGETSIZE64, &size);
  int error = errno;
  close(fd);
  if (result != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("device ", QuotedPath(path),
                     " has no readable size: ", strerror(error)));
  }
  return size;
}

}  // namespace

absl::Status ValidateVolumeId(absl::string_view volume_id) {
  if (volume_id.empty()) {
    return absl::InvalidArgumentError("volume_id is empty");
  }
  if (volume_id.size() > kMaxVolumeIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("volume_id is ", volume_id.size(),
                     " characters long; at most ", kMaxVolumeIdLength));
  }
  for (size_t i = 0; i < volume_id.size(); ++i) {
    if (!IsIdCharacter(volume_id[i], i == 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("volume_id ", Quoted(volume_id), " has character ",
                       Quoted(volume_id.substr(i, 1)), " at ", i,
                       "; allowed: letters, digits, '_' and '-' (not first)"));
    }
  }
  return absl::OkStatus();
}

std::string ExportName(absl::string_view volume_id) {
  return absl::StrCat(kExportNamePrefix, volume_id);
}

std::string VolumeIdOf(absl::string_view export_name) {
  if (!absl::StartsWith(export_name, kExportNamePrefix)) return "";
  absl::string_view id = export_name.substr(kExportNamePrefix.size());
  if (!ValidateVolumeId(id).ok()) return "";
  return std::string(id);
}

bool Device::SameAs(const Device& other) const {
  if (is_block && other.is_block) return rdev == other.rdev;
  return id_dev == other.id_dev && id_ino == other.id_ino;
}

absl::StatusOr<Device> CheckDevice(const std::string& path,
                                   bool allow_regular_files) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("device_path ", QuotedPath(path), " is not absolute"));
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device_path ", QuotedPath(path), " has a control character"));
    }
  }

  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::FailedPreconditionError(
          absl::StrCat("device ", QuotedPath(path), " does not exist"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", QuotedPath(path), " cannot be resolved: ", strerror(errno)));
  }
  if (path != resolved) {
    return absl::InvalidArgumentError(
        absl::StrCat("device_path ", QuotedPath(path),
                     " is not canonical; use ", QuotedPath(resolved)));
  }

  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", QuotedPath(path), " cannot be read: ", strerror(errno)));
  }
  Device device;
  device.path = path;
  device.id_dev = info.st_dev;
  device.id_ino = info.st_ino;
  device.rdev = info.st_rdev;
  if (S_ISBLK(info.st_mode)) {
    device.is_block = true;
    absl::StatusOr<uint64_t> size = BlockDeviceSize(path);
    if (!size.ok()) return size.status();
    device.size_bytes = *size;
    return device;
  }
  if (S_ISREG(info.st_mode)) {
    if (!allow_regular_files) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device ", QuotedPath(path),
          " is a regular file, not a block device (allowed only with "
          "--allow_regular_files)"));
    }
    device.size_bytes = info.st_size;
    return device;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("device ", QuotedPath(path), " is not a block device",
                   S_ISDIR(info.st_mode) ? " but a directory" : ""));
}

}  // namespace migratekit::exports
