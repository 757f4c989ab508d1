// Asks the NBD server, as a client would, whether an export is served: a
// new libnbd connection to it by name, and the size it reports.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_NBD_PROBE_H_
#define MIGRATEKIT_SERVICES_EXPORTS_NBD_PROBE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/net_address.h"

namespace migratekit::exports {

// How long one probe may take on a loaded machine.
inline constexpr absl::Duration kProbeTimeout = absl::Seconds(5);

// Connects to `export_name` on `server` and returns its size in bytes.
// UNAVAILABLE with libnbd's message when the connection or handshake fails
// or does not finish within `timeout`.
absl::StatusOr<uint64_t> ProbeExport(const HostPort& server,
                                     const std::string& export_name,
                                     absl::Duration timeout = kProbeTimeout);

// Probes until the export reports `size_bytes` or `timeout` passes; the
// error then says what the last probe saw.
absl::Status WaitUntilServed(const HostPort& server,
                             const std::string& export_name,
                             uint64_t size_bytes, absl::Duration timeout);

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_NBD_PROBE_H_
