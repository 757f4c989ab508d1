// Logging for every migratekit binary: one line per event on stderr, each
// starting with the subject it is about ("tunnel:", "forward[10808]:",
// "export[migration-vol-42]:", "job[7f3a]:") and followed by short lowercase
// key=value fields. journald adds the time stamps in production; the
// --log_timestamps flag adds them for a terminal.
//
//   spdlog::info("export[{}]: created size={}", Quoted(name), size);
//
// Anything that came from outside the process (ids, paths, URIs, peer
// banners, error strings of peers) goes through Quoted(), which caps and
// escapes it so that it cannot forge a line or flood the log.
#ifndef MIGRATEKIT_SERVICES_COMMON_LOGGING_H_
#define MIGRATEKIT_SERVICES_COMMON_LOGGING_H_

#include <spdlog/spdlog.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace migratekit {

// Sets up the process-wide logger from --log_level and --log_timestamps.
// Call once, after flags are parsed.
void InitLogging();

// Routes gRPC's own log lines into ours at debug level, so that a failure
// the program reports itself is one line rather than gRPC's several.
void CaptureGrpcLogs();

// `text` with control and non-ASCII bytes escaped as \xNN, quotes and
// backslashes escaped, and cut after `max_bytes` with "..." appended.
std::string Quoted(absl::string_view text, size_t max_bytes = 100);

// Quoted() for a file or device path: escaped the same way, but cut only
// past PATH_MAX, so that an operator always sees the whole path.
std::string QuotedPath(absl::string_view path);

}  // namespace migratekit

// Lets log lines take abseil's string_view (not std::string_view in
// Debian's build) and a Status, printed as "CODE: message".
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(absl::string_view text, Context& context) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(text.data(), text.size()), context);
  }
};

template <>
struct fmt::formatter<absl::Status> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(const absl::Status& status, Context& context) const {
    std::string text = status.ToString();
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(text.data(), text.size()), context);
  }
};

#endif  // MIGRATEKIT_SERVICES_COMMON_LOGGING_H_
