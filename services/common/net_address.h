// Addresses as operators write them ("127.0.0.1:8082", "[::1]:443",
// "oma.example.net:443") and the listening sockets made from them.
#ifndef MIGRATEKIT_SERVICES_COMMON_NET_ADDRESS_H_
#define MIGRATEKIT_SERVICES_COMMON_NET_ADDRESS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace migratekit {

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;

  // "host:port", with brackets around an IPv6 host.
  std::string ToString() const;
  bool operator==(const HostPort& other) const {
    return host == other.host && port == other.port;
  }
};

// Parses "host:port" or "[v6]:port". The port must be 0 to 65535; the host
// must not be empty.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

// A non-blocking TCP socket bound to `address` and listening, with
// SO_REUSEADDR (but not SO_REUSEPORT: a second process must not share the
// port). Errors name the address and errno.
absl::StatusOr<int> BindTcp(const HostPort& address, int backlog = 128);

// The port a bound socket has (useful after binding port 0).
absl::StatusOr<uint16_t> LocalPort(int fd);

}  // namespace migratekit

#endif  // MIGRATEKIT_SERVICES_COMMON_NET_ADDRESS_H_
