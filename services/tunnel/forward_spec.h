// The port forwards tunnel-manager carries, as operators write them: ssh's
// -L / -R syntax "bind_host:port:host:port", several separated by commas.
//
//   ParseForwardSpecs(ForwardDirection::kLocal,
//                     "127.0.0.1:10808:127.0.0.1:10809")
//
// A local forward listens on the VMA at bind_host:port and carries each
// connection to host:port as the OMA resolves it; a remote forward asks the
// OMA's sshd to listen at bind_host:port and carries each connection it
// forwards back to host:port on the VMA. Hosts are kept as written: sshd
// matches PermitOpen / PermitListen hosts as literal strings.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_FORWARD_SPEC_H_
#define MIGRATEKIT_SERVICES_TUNNEL_FORWARD_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/net_address.h"

namespace migratekit::tunnel {

enum class ForwardDirection { kLocal, kRemote };

struct ForwardSpec {
  ForwardDirection direction = ForwardDirection::kLocal;
  HostPort listen;   // on the VMA (local) or on the OMA (remote)
  HostPort connect;  // resolved on the OMA (local) or on the VMA (remote)

  // "forward[10808]" or "reverse[9081]": the subject of log lines and the
  // metrics' forward label.
  std::string Name() const;
  // "127.0.0.1:10808:127.0.0.1:10809", as it would be written.
  std::string ToString() const;
};

// Parses one "bind_host:port:host:port" ("[v6]" hosts in brackets). The
// listening port must be 1 to 65535 (a remote port 0 would make sshd pick
// one that nobody could know), the connect port too.
absl::StatusOr<ForwardSpec> ParseForwardSpec(ForwardDirection direction,
                                             absl::string_view text);

// Parses a comma-separated list; empty text is no forwards.
absl::StatusOr<std::vector<ForwardSpec>> ParseForwardSpecs(
    ForwardDirection direction, absl::string_view text);

// Checks a whole set: no two forwards of the same direction listen on the
// same host and port.
absl::Status CheckNoDuplicateListeners(const std::vector<ForwardSpec>& specs);

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_FORWARD_SPEC_H_
