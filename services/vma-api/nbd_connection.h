// libnbd handles as owned objects, and libnbd's errors as absl::Status.
//
// libnbd keeps its last error per thread; NbdError() must be called on the
// thread of the failed call, before the next libnbd call.
#ifndef MIGRATEKIT_SERVICES_VMA_API_NBD_CONNECTION_H_
#define MIGRATEKIT_SERVICES_VMA_API_NBD_CONNECTION_H_

#include <libnbd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace migratekit::vma {

struct NbdCloser {
  void operator()(nbd_handle* handle) const { nbd_close(handle); }
};
using NbdHandle = std::unique_ptr<nbd_handle, NbdCloser>;

// The status code for an errno from libnbd or a command's reply: a peer or
// path that went away is UNAVAILABLE (retry), an unknown export NOT_FOUND,
// a refused URI INVALID_ARGUMENT, anything else from the disk DATA_LOSS.
absl::StatusCode CodeForErrno(int error);

// libnbd's last error on this thread as "`what`: <libnbd's message>".
absl::Status NbdError(absl::string_view what);

// A command's failure reported through its completion callback.
absl::Status NbdCommandError(absl::string_view what, int error);

// Connects to `uri`. With `block_status`, asks for base:allocation (used
// only if the server offers it). `role` ("source", "target") starts every
// error message.
absl::StatusOr<NbdHandle> ConnectNbd(const std::string& uri,
                                     absl::string_view role, bool block_status);

// "nbd://host:port/export" for a target address and export name, or
// INVALID_ARGUMENT if either cannot be one.
absl::StatusOr<std::string> TargetUri(absl::string_view address,
                                      absl::string_view export_name);

// Sizes of the source and the target, checked that the target can take the
// source: it exists, is writable and is at least as large. Connects once to
// each and writes nothing.
struct DiskSizes {
  uint64_t source = 0;
  uint64_t target = 0;
};
absl::StatusOr<DiskSizes> ProbeDisks(const std::string& source_uri,
                                     const std::string& target_uri);

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_NBD_CONNECTION_H_
