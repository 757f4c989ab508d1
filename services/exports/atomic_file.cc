#include "services/exports/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace migratekit::exports {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir);
  int result = fsync(fd);
  int error = errno;
  close(fd);
  errno = error;
  if (result != 0) return ErrnoError("cannot fsync directory", dir);
  return absl::OkStatus();
}

std::string TempTemplate(const std::string& dir, const std::string& name) {
  return absl::StrCat(dir, "/", kTempPrefix, name, "-XXXXXX");
}

absl::Status WriteAll(int fd, absl::string_view content,
                      const std::string& path) {
  while (!content.empty()) {
    ssize_t written = write(fd, content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return ErrnoError("cannot write", path);
    content.remove_prefix(written);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& dir,
                                 const std::string& name,
                                 absl::string_view content) {
  std::string temp = TempTemplate(dir, name);
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot create a file in", dir);

  absl::Status status = WriteAll(fd, content, temp);
  if (status.ok() && fchmod(fd, 0644) != 0) {
    status = ErrnoError("cannot chmod", temp);
  }
  if (status.ok() && fsync(fd) != 0) status = ErrnoError("cannot fsync", temp);
  close(fd);
  std::string target = absl::StrCat(dir, "/", name);
  if (status.ok() && rename(temp.c_str(), target.c_str()) != 0) {
    status = ErrnoError("cannot rename into", target);
  }
  if (!status.ok()) {
    unlink(temp.c_str());
    return status;
  }
  return SyncDirectory(dir);
}

absl::Status ReplaceSymlinkAtomically(const std::string& dir,
                                      const std::string& name,
                                      const std::string& target) {
  // mkstemp reserves a unique name; the link then takes its place.
  std::string temp = TempTemplate(dir, name);
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot create a file in", dir);
  close(fd);
  unlink(temp.c_str());
  if (symlink(target.c_str(), temp.c_str()) != 0) {
    return ErrnoError("cannot make link", temp);
  }
  std::string path = absl::StrCat(dir, "/", name);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status status = ErrnoError("cannot rename into", path);
    unlink(temp.c_str());
    return status;
  }
  return SyncDirectory(dir);
}

absl::Status RemoveDurably(const std::string& dir, const std::string& name) {
  std::string path = absl::StrCat(dir, "/", name);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("cannot remove", path);
  }
  return SyncDirectory(dir);
}

absl::Status MakeDirectories(const std::string& dir) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = dir.find('/', slash + 1);
    std::string prefix = dir.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("cannot create directory", prefix);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return ErrnoError("cannot list directory", dir);
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::vector<std::string>> RemoveLeftovers(
    const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  if (!names.ok()) return names.status();
  std::vector<std::string> removed;
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, kTempPrefix)) continue;
    std::string path = absl::StrCat(dir, "/", name);
    if (unlink(path.c_str()) != 0) return ErrnoError("cannot remove", path);
    removed.push_back(name);
  }
  if (!removed.empty()) {
    absl::Status status = SyncDirectory(dir);
    if (!status.ok()) return status;
  }
  return removed;
}

}  // namespace migratekit::exports
