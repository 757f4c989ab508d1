#include "services/tunnel/host_key.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace migratekit::tunnel {
namespace {

bool NamesServer(absl::string_view hosts, absl::string_view name) {
  for (absl::string_view host : absl::StrSplit(hosts, ',')) {
    if (host == name) return true;
  }
  return false;
}

}  // namespace

std::string FingerprintFromSha256(absl::string_view digest) {
  std::string encoded;
  absl::Base64Escape(digest, &encoded);
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return absl::StrCat("SHA256:", encoded);
}

std::string KnownHostsName(const HostPort& server) {
  if (server.port == 22) return server.host;
  return absl::StrCat("[", server.host, "]:", server.port);
}

absl::Status CheckKnownHosts(absl::string_view known_hosts,
                             const HostPort& server, absl::string_view key_blob,
                             absl::string_view fingerprint) {
  const std::string name = KnownHostsName(server);
  int line_number = 0;
  int mismatched_line = 0;
  for (absl::string_view line : absl::StrSplit(known_hosts, '\n')) {
    line_number++;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    bool revoked = false;
    if (!fields.empty() && fields[0][0] == '@') {
      if (fields[0] != "@revoked") continue;  // @cert-authority
      revoked = true;
      fields.erase(fields.begin());
    }
    if (fields.size() < 3 || !NamesServer(fields[0], name)) continue;

    std::string blob;
    bool same = absl::Base64Unescape(fields[2], &blob) && blob == key_blob;
    if (same && revoked) {
      return absl::FailedPreconditionError(absl::StrCat(
          "host key ", fingerprint, " of ", name,
          " is marked @revoked on known_hosts line ", line_number));
    }
    if (same) return absl::OkStatus();
    if (!revoked && mismatched_line == 0) mismatched_line = line_number;
  }
  if (mismatched_line != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("host key of ", name, " changed: the server offered ",
                     fingerprint, ", known_hosts line ", mismatched_line,
                     " has another key; refusing to connect"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("host key of ", name, " is unknown: the server offered ",
                   fingerprint, ", no known_hosts line names ", name,
                   "; add it only after checking it on the OMA"));
}

absl::Status CheckFingerprint(absl::string_view pinned,
                              absl::string_view fingerprint) {
  pinned = absl::StripAsciiWhitespace(pinned);
  while (absl::ConsumeSuffix(&pinned, "=")) {
  }
  if (pinned == fingerprint) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "host key changed: the server offered ", fingerprint,
      ", --host_key_fingerprint pins ", pinned, "; refusing to connect"));
}

}  // namespace migratekit::tunnel
