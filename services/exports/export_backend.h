// What the export service needs from an NBD server, whichever one it is.
// Both backends serve each export through a link in a directory that
// export-manager owns (<link_dir>/<export name> -> device), which the server
// resolves at every new connection: publishing or re-pointing a link takes
// effect for the next connection, removing it makes the name fail at once,
// and connections already open keep the device they opened.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_EXPORT_BACKEND_H_
#define MIGRATEKIT_SERVICES_EXPORTS_EXPORT_BACKEND_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/common/net_address.h"

namespace migratekit::exports {

struct PublishedExport {
  std::string name;
  std::string device_path;
  bool read_only = false;
};

class ExportBackend {
 public:
  virtual ~ExportBackend() = default;

  // Clears leftovers of interrupted writes, reads back the exports that
  // are on disk, and starts (or adopts) the server.
  virtual absl::Status Start() = 0;
  virtual void Stop() = 0;

  // The exports found on disk by Start().
  virtual std::vector<PublishedExport> Recovered() const = 0;

  // Makes the server serve `spec` to new connections (files written, the
  // server told); the caller then checks with a real connection.
  virtual absl::Status Publish(const PublishedExport& spec) = 0;

  // Makes the name fail for new connections at once.
  virtual absl::Status Unpublish(const std::string& name) = 0;

  virtual bool up() const = 0;
  virtual pid_t server_pid() const = 0;
  // Reload signals sent and proactive restarts made, for metrics.
  virtual int64_t reloads() const = 0;
  virtual int64_t restarts() const = 0;
  // The address clients connect to.
  virtual const HostPort& listen() const = 0;
  // The program name of the server process ("nbd-server", "nbdkit").
  virtual std::string program() const = 0;
};

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_EXPORT_BACKEND_H_
