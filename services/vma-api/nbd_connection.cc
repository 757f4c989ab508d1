#include "services/vma-api/nbd_connection.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/net_address.h"

namespace migratekit::vma {

absl::StatusCode CodeForErrno(int error) {
  switch (error) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EPIPE:
    case ENOTCONN:
    case ESHUTDOWN:
    case EAGAIN:
      return absl::StatusCode::kUnavailable;
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EINVAL:
    case EPROTONOSUPPORT:
      return absl::StatusCode::kInvalidArgument;
    case EPERM:
    case EACCES:
    case EROFS:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kDataLoss;
  }
}

absl::Status NbdError(absl::string_view what) {
  int error = nbd_get_errno();
  const char* message = nbd_get_error();
  return absl::Status(CodeForErrno(error),
                      absl::StrCat(what, ": ", message ? message : "error"));
}

absl::Status NbdCommandError(absl::string_view what, int error) {
  return absl::Status(CodeForErrno(error),
                      absl::StrCat(what, ": ", std::strerror(error)));
}

absl::StatusOr<NbdHandle> ConnectNbd(const std::string& uri,
                                     absl::string_view role,
                                     bool block_status) {
  NbdHandle handle(nbd_create());
  if (handle == nullptr) return NbdError(absl::StrCat(role, ": nbd_create"));
  if (block_status && nbd_add_meta_context(
                          handle.get(), LIBNBD_CONTEXT_BASE_ALLOCATION) == -1) {
    return NbdError(absl::StrCat(role, ": base:allocation"));
  }
  if (nbd_connect_uri(handle.get(), uri.c_str()) == -1) {
    absl::Status status = NbdError(absl::StrCat(role, " ", uri));
    // A handshake the server cut short ("server disconnected unexpectedly",
    // no errno) is a peer that went away, not lost data: worth a retry.
    if (status.code() == absl::StatusCode::kDataLoss) {
      return absl::UnavailableError(status.message());
    }
    return status;
  }
  return handle;
}

absl::StatusOr<std::string> TargetUri(absl::string_view address,
                                      absl::string_view export_name) {
  absl::StatusOr<HostPort> host_port = ParseHostPort(address);
  if (!host_port.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("target address: ", host_port.status().message()));
  }
  if (export_name.empty() || export_name.size() > 128) {
    return absl::InvalidArgumentError(
        "export name must be 1 to 128 characters");
  }
  for (char c : export_name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return absl::InvalidArgumentError(
          "export name may hold only letters, digits, '-', '_' and '.'");
    }
  }
  return absl::StrCat("nbd://", host_port->ToString(), "/", export_name);
}

absl::StatusOr<DiskSizes> ProbeDisks(const std::string& source_uri,
                                     const std::string& target_uri) {
  absl::StatusOr<NbdHandle> source = ConnectNbd(source_uri, "source", false);
  if (!source.ok()) return source.status();
  int64_t source_size = nbd_get_size(source->get());
  if (source_size == -1) return NbdError("source: size");
  if (source_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("source ", source_uri, " is empty (0 bytes)"));
  }

  absl::StatusOr<NbdHandle> target = ConnectNbd(target_uri, "target", false);
  if (!target.ok()) return target.status();
  int64_t target_size = nbd_get_size(target->get());
  if (target_size == -1) return NbdError("target: size");
  if (nbd_is_read_only(target->get()) == 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("target ", target_uri, " is read-only"));
  }
  if (target_size < source_size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "target ", target_uri, " is smaller than the source: ", target_size,
        " bytes < ", source_size, " bytes; nothing was written"));
  }
  return DiskSizes{static_cast<uint64_t>(source_size),
                   static_cast<uint64_t>(target_size)};
}

}  // namespace migratekit::vma
