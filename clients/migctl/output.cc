#include "clients/migctl/output.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/migctl/progress.h"

namespace migratekit::migctl {
namespace {

using google::protobuf::util::TimeUtil;

// Columns padded to their widest cell, two spaces apart.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) {
        line.append(widths[i] - row[i].size() + 2, ' ');
      }
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string Time(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return TimeUtil::ToString(time);
}

}  // namespace

std::string EnumShortName(const std::string& full, const std::string& prefix) {
  std::string name =
      full.rfind(prefix, 0) == 0 ? full.substr(prefix.size()) : full;
  return absl::AsciiStrToLower(name);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  // Printing a well-formed message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

std::string TunnelStatusTable(const tunnel::v1::TunnelStatus& status) {
  std::string state = EnumShortName(
      tunnel::v1::TunnelState_Name(status.state()), "TUNNEL_STATE_");
  std::string out = Table({
      {"state:", state, "since " + Time(status.since())},
      {"server:", status.server(), "user " + status.user()},
      {"host key:", status.host_key_fingerprint()},
      {"cipher:", status.cipher(), status.mac()},
      {"channels:", absl::StrCat(status.live_channels()),
       absl::StrCat("sessions so far ", status.connects_total())},
      {"last error:", status.last_error().empty() ? "-" : status.last_error()},
  });
  std::vector<std::vector<std::string>> rows = {{"FORWARD", "LISTEN", "CONNECT",
                                                 "STATE", "CHANNELS", "SENT",
                                                 "RECEIVED", "LAST ERROR"}};
  for (const auto& forward : status.forwards()) {
    rows.push_back({
        forward.name(),
        absl::StrCat(forward.listen_host(), ":", forward.listen_port()),
        absl::StrCat(forward.connect_host(), ":", forward.connect_port()),
        EnumShortName(tunnel::v1::ForwardState_Name(forward.state()),
                      "FORWARD_STATE_"),
        absl::StrCat(forward.open_channels()),
        HumanBytes(forward.bytes_sent()),
        HumanBytes(forward.bytes_received()),
        forward.last_error().empty() ? "-" : forward.last_error(),
    });
  }
  return absl::StrCat(out, "\n", Table(rows));
}

std::string ExportsTable(const std::vector<exports::v1::Export>& exports) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "DEVICE", "SIZE", "MODE", "STATE", "DETAIL"}};
  for (const auto& exported : exports) {
    rows.push_back({
        exported.name(),
        exported.device_path(),
        HumanBytes(exported.size_bytes()),
        exported.read_only() ? "ro" : "rw",
        EnumShortName(exports::v1::ExportState_Name(exported.state()),
                      "EXPORT_STATE_"),
        exported.state_detail().empty() ? "-" : exported.state_detail(),
    });
  }
  return Table(rows);
}

std::string JobsTable(const std::vector<vma::v1::Job>& jobs) {
  std::vector<std::vector<std::string>> rows = {
      {"JOB", "PHASE", "DONE", "SIZE", "EXPORT", "SOURCE"}};
  for (const auto& job : jobs) {
    rows.push_back({
        job.job_id(),
        PhaseName(job.phase()),
        absl::StrFormat("%.1f%%", FractionDone(job) * 100),
        HumanBytes(job.progress().bytes_total()),
        job.export_name(),
        job.source_uri(),
    });
  }
  return Table(rows);
}

std::string JobDetails(const vma::v1::Job& job) {
  std::vector<std::vector<std::string>> rows = {
      {"job:", job.job_id()},
      {"phase:", PhaseName(job.phase())},
      {"progress:", ProgressLine(job, 0)},
      {"source:", job.source_uri()},
      {"target:", absl::StrCat(job.target_address(), "/", job.export_name())},
      {"verify:", job.verify() ? "yes" : "no"},
      {"created:", Time(job.create_time())},
      {"ended:", Time(job.end_time())},
  };
  if (job.retries() > 0)
    rows.push_back({"retries:", absl::StrCat(job.retries())});
  if (!job.error().empty()) rows.push_back({"error:", job.error()});
  if (!job.source_digest().empty()) {
    rows.push_back({"source sha256:", job.source_digest()});
    rows.push_back({"target sha256:", job.target_digest()});
  }
  return Table(rows);
}

std::string ExportDetails(const exports::v1::Export& exported) {
  return Table({
      {"export:", exported.name()},
      {"uri:", exported.uri()},
      {"device:", exported.device_path()},
      {"size:", absl::StrCat(HumanBytes(exported.size_bytes()), " (",
                             exported.size_bytes(), " bytes)")},
      {"mode:", exported.read_only() ? "read-only" : "read-write"},
      {"state:", EnumShortName(exports::v1::ExportState_Name(exported.state()),
                               "EXPORT_STATE_")},
      {"detail:",
       exported.state_detail().empty() ? "-" : exported.state_detail()},
      {"created:", Time(exported.create_time())},
  });
}

}  // namespace migratekit::migctl
