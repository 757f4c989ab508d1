// Command-line flags and an optional configuration file for a service
// binary. The file is a text-format protobuf of the service's own config
// message, whose field names are the flag names:
//
//   # /etc/migratekit/tunnel-manager.textproto
//   oma_host: "oma.example.net"
//   keepalive_interval_seconds: 15
//
// Values from the file become the flags' values; flags given on the command
// line win over the file.
#ifndef MIGRATEKIT_SERVICES_COMMON_FLAG_CONFIG_H_
#define MIGRATEKIT_SERVICES_COMMON_FLAG_CONFIG_H_

#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace migratekit {

// Checks that every field of `config` has a flag of the same name that can
// take its value: a repeated field needs a comma-separated list flag.
absl::Status CheckConfigMatchesFlags(
    const google::protobuf::Descriptor& config);

// Parses the text-format file at `path` as a `prototype`-typed message and
// sets the flag of each field present in it.
absl::Status ApplyConfigFile(const std::string& path,
                             const google::protobuf::Message& prototype);

// Everything a service's main() does before it builds anything: blocks the
// shutdown signals (so that every thread created later inherits that and
// one thread can wait for them), parses --config and the flags, and sets up
// logging. Prints one line and exits 2 on a bad flag or config file.
// Returns the positional arguments.
std::vector<char*> InitService(int argc, char** argv, const char* usage,
                               const google::protobuf::Message& config);

}  // namespace migratekit

#endif  // MIGRATEKIT_SERVICES_COMMON_FLAG_CONFIG_H_
