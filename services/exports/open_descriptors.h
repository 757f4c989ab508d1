// Finds who still has a device open: after a delete, connections that were
// already open keep serving the device they opened (a removed link does not
// close them), and the caller should know before it detaches the volume.
#ifndef MIGRATEKIT_SERVICES_EXPORTS_OPEN_DESCRIPTORS_H_
#define MIGRATEKIT_SERVICES_EXPORTS_OPEN_DESCRIPTORS_H_

#include <string>

#include "services/exports/export_validation.h"

namespace migratekit::exports {

// File descriptors open on `device` in processes running `program`
// ("nbd-server", "nbdkit"): one per NBD connection to it.
int CountOpenDescriptors(const Device& device, const std::string& program);

}  // namespace migratekit::exports

#endif  // MIGRATEKIT_SERVICES_EXPORTS_OPEN_DESCRIPTORS_H_
