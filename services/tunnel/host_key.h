// Pinning the OMA's host key: either an OpenSSH known_hosts file (entries
// "[host]:port keytype base64", or a bare "host" for port 22) or a single
// "SHA256:<base64>" fingerprint. An unknown or changed key is refused with
// the fingerprint that was seen, so an operator can compare it with the
// OMA's `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`; nothing is ever
// written to the known_hosts file.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_HOST_KEY_H_
#define MIGRATEKIT_SERVICES_TUNNEL_HOST_KEY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/net_address.h"

namespace migratekit::tunnel {

// OpenSSH's form of a key's SHA-256 digest: "SHA256:" and the unpadded
// base64 of the 32 bytes.
std::string FingerprintFromSha256(absl::string_view digest);

// The name known_hosts uses for a server: "host" for port 22, else
// "[host]:port".
std::string KnownHostsName(const HostPort& server);

// Checks the server's key (`key_blob`, the raw public key as sent in the
// key exchange) against the text of a known_hosts file. OK when a line for
// the server carries that key. FAILED_PRECONDITION naming the line when
// the server has lines but none with this key (changed key) or is revoked,
// and when no line names the server (unknown key); both messages carry
// `fingerprint`. Hashed host names (|1|...) and @cert-authority lines are
// not understood and are skipped.
absl::Status CheckKnownHosts(absl::string_view known_hosts,
                             const HostPort& server, absl::string_view key_blob,
                             absl::string_view fingerprint);

// Checks a pinned "SHA256:..." fingerprint (a trailing '=' pad is
// tolerated). FAILED_PRECONDITION naming both when they differ.
absl::Status CheckFingerprint(absl::string_view pinned,
                              absl::string_view fingerprint);

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_HOST_KEY_H_
