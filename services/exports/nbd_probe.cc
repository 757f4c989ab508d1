#include "services/exports/nbd_probe.h"

#include <libnbd.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace migratekit::exports {
namespace {

absl::Status NbdError(absl::string_view what) {
  // libnbd keeps the error per thread until the next call: read it now.
  const char* message = nbd_get_error();
  return absl::UnavailableError(
      absl::StrCat(what, ": ", message != nullptr ? message : "unknown"));
}

}  // namespace

absl::StatusOr<uint64_t> ProbeExport(const HostPort& server,
                                     const std::string& export_name,
                                     absl::Duration timeout) {
  struct nbd_handle* handle = nbd_create();
  if (handle == nullptr) return NbdError("nbd_create");

  // Asynchronous connect, so that a server that accepts and then says
  // nothing (a wedged process) costs `timeout`, not a hung caller.
  absl::Status status;
  std::string port = absl::StrCat(server.port);
  const absl::Time deadline = absl::Now() + timeout;
  if (nbd_set_export_name(handle, export_name.c_str()) != 0) {
    status = NbdError("nbd_set_export_name");
  } else if (nbd_aio_connect_tcp(handle, server.host.c_str(), port.c_str()) !=
             0) {
    status = NbdError("connect");
  }
  while (status.ok() && nbd_aio_is_ready(handle) == 0) {
    if (nbd_aio_is_dead(handle) == 1 || nbd_aio_is_closed(handle) == 1) {
      status = absl::UnavailableError("connect: the server closed it");
      break;
    }
    int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) {
      status = absl::UnavailableError(absl::StrCat(
          "connect: no NBD handshake within ", absl::FormatDuration(timeout)));
    } else if (nbd_poll(handle, static_cast<int>(left)) == -1) {
      status = NbdError("connect");
    }
  }

  absl::StatusOr<uint64_t> result = absl::UnknownError("not connected");
  if (!status.ok()) {
    result = status;
  } else {
    int64_t size = nbd_get_size(handle);
    result = size < 0 ? NbdError("nbd_get_size")
                      : absl::StatusOr<uint64_t>(static_cast<uint64_t>(size));
    nbd_shutdown(handle, 0);
  }
  nbd_close(handle);
  return result;
}

absl::Status WaitUntilServed(const HostPort& server,
                             const std::string& export_name,
                             uint64_t size_bytes, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(5);
  while (true) {
    absl::StatusOr<uint64_t> size =
        ProbeExport(server, export_name, kProbeTimeout);
    if (size.ok() && *size == size_bytes) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      if (!size.ok()) return size.status();
      return absl::FailedPreconditionError(absl::StrCat(
          "the server reports size ", *size, ", the device has ", size_bytes));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(200));
  }
}

}  // namespace migratekit::exports
