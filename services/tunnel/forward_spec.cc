#include "services/tunnel/forward_spec.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace migratekit::tunnel {
namespace {

// Splits at ':' outside of brackets, so "[::1]:10808:..." keeps its host.
std::vector<std::string> SplitFields(absl::string_view text) {
  std::vector<std::string> fields(1);
  int depth = 0;
  for (char c : text) {
    if (c == '[') depth++;
    if (c == ']') depth--;
    if (c == ':' && depth == 0) {
      fields.emplace_back();
      continue;
    }
    fields.back().push_back(c);
  }
  return fields;
}

absl::StatusOr<HostPort> HostAndPort(absl::string_view host,
                                     absl::string_view port,
                                     absl::string_view text) {
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  uint32_t number = 0;
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward \"", text, "\": empty host"));
  }
  if (!absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward \"", text, "\": port \"", port, "\" is not 1 to 65535"));
  }
  return HostPort{std::string(host), static_cast<uint16_t>(number)};
}

}  // namespace

std::string ForwardSpec::Name() const {
  return absl::StrCat(
      direction == ForwardDirection::kLocal ? "forward[" : "reverse[",
      listen.port, "]");
}

std::string ForwardSpec::ToString() const {
  return absl::StrCat(listen.ToString(), ":", connect.ToString());
}

absl::StatusOr<ForwardSpec> ParseForwardSpec(ForwardDirection direction,
                                             absl::string_view text) {
  std::vector<std::string> fields = SplitFields(text);
  if (fields.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward \"", text,
        "\": want bind_host:port:host:port (4 fields), got ", fields.size()));
  }
  ForwardSpec spec;
  spec.direction = direction;
  absl::StatusOr<HostPort> listen = HostAndPort(fields[0], fields[1], text);
  if (!listen.ok()) return listen.status();
  absl::StatusOr<HostPort> connect = HostAndPort(fields[2], fields[3], text);
  if (!connect.ok()) return connect.status();
  spec.listen = *std::move(listen);
  spec.connect = *std::move(connect);
  return spec;
}

absl::StatusOr<std::vector<ForwardSpec>> ParseForwardSpecs(
    ForwardDirection direction, absl::string_view text) {
  std::vector<ForwardSpec> specs;
  for (absl::string_view item :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    absl::StatusOr<ForwardSpec> spec =
        ParseForwardSpec(direction, absl::StripAsciiWhitespace(item));
    if (!spec.ok()) return spec.status();
    specs.push_back(*std::move(spec));
  }
  return specs;
}

absl::Status CheckNoDuplicateListeners(const std::vector<ForwardSpec>& specs) {
  std::set<std::pair<int, std::string>> seen;
  for (const ForwardSpec& spec : specs) {
    auto key = std::make_pair(static_cast<int>(spec.direction),
                              spec.listen.ToString());
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat("two forwards listen on ",
                                                     spec.listen.ToString(),
                                                     " (", spec.Name(), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace migratekit::tunnel
