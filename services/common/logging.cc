#include "services/common/logging.h"

#include <grpc/support/log.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <climits>
#include <cstdio>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

ABSL_FLAG(std::string, log_level, "info",
          "Least severe log level printed: debug, info, warn or error.");
ABSL_FLAG(bool, log_timestamps, false,
          "Start each log line with a time stamp (journald adds its own).");

namespace migratekit {
namespace {

spdlog::level::level_enum LevelFromFlag() {
  std::string name = absl::AsciiStrToLower(absl::GetFlag(FLAGS_log_level));
  if (name == "debug") return spdlog::level::debug;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return spdlog::level::info;
}

void LogFromGrpc(gpr_log_func_args* args) {
  // gRPC's own messages are detail behind an error we report ourselves.
  spdlog::debug("grpc: {}", Quoted(args->message, 300));
}

}  // namespace

void InitLogging() {
  auto logger = std::make_shared<spdlog::logger>(
      "migratekit", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern(absl::GetFlag(FLAGS_log_timestamps)
                          ? "%Y-%m-%dT%H:%M:%S.%e %L %v"
                          : "%L %v");
  logger->set_level(LevelFromFlag());
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void CaptureGrpcLogs() {
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  gpr_set_log_function(LogFromGrpc);
}

std::string Quoted(absl::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 8);
  out.push_back('"');
  size_t taken = 0;
  for (char c : text) {
    if (taken == max_bytes) break;
    ++taken;
    unsigned char byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += absl::StrFormat("\\x%02x", byte);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  if (taken < text.size()) out += "...";
  return out;
}

std::string QuotedPath(absl::string_view path) {
  return Quoted(path, PATH_MAX);
}

}  // namespace migratekit
