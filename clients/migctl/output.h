// How migctl prints what the services answer: `--output table` (the
// default) for people, `--output json` (protobuf's JSON mapping, one
// document per answer) for scripts.
#ifndef MIGRATEKIT_CLIENTS_MIGCTL_OUTPUT_H_
#define MIGRATEKIT_CLIENTS_MIGCTL_OUTPUT_H_

#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "proto/exports/v1/exports.pb.h"
#include "proto/tunnel/v1/tunnel.pb.h"
#include "proto/vma/v1/vma.pb.h"

namespace migratekit::migctl {

enum class OutputFormat { kTable, kJson };

std::string ToJson(const google::protobuf::Message& message);

std::string TunnelStatusTable(const tunnel::v1::TunnelStatus& status);
std::string ExportsTable(const std::vector<exports::v1::Export>& exports);
std::string JobsTable(const std::vector<vma::v1::Job>& jobs);
// One job or export in full, one "key: value" line per field.
std::string JobDetails(const vma::v1::Job& job);
std::string ExportDetails(const exports::v1::Export& exported);

// The short name of an enum value: "EXPORT_STATE_SERVED" -> "served".
std::string EnumShortName(const std::string& full, const std::string& prefix);

}  // namespace migratekit::migctl

#endif  // MIGRATEKIT_CLIENTS_MIGCTL_OUTPUT_H_
