// systemd's service protocol for Type=notify units: READY=1 once a service
// serves, STOPPING=1 when it begins to shut down, and WATCHDOG=1 pings
// while it is alive, so that systemd restarts a service that hangs. Outside
// systemd (no NOTIFY_SOCKET) every call does nothing.
#ifndef MIGRATEKIT_SERVICES_COMMON_SYSTEMD_NOTIFY_H_
#define MIGRATEKIT_SERVICES_COMMON_SYSTEMD_NOTIFY_H_

#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"

namespace migratekit {

class SystemdNotifier {
 public:
  // `alive` is asked before each watchdog ping; a ping is sent only while
  // it returns true, so that a service whose own work is stuck stops
  // pinging and gets restarted. The default is always alive.
  explicit SystemdNotifier(std::function<bool()> alive = nullptr);
  ~SystemdNotifier();

  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // READY=1, and the watchdog pings from then on if the unit asks for them.
  void Ready();
  // STOPPING=1, and no more pings.
  void Stopping();

 private:
  void PingUntilStopped(long interval_usec);

  std::function<bool()> alive_;
  absl::Notification stopped_;
  std::thread watchdog_;
};

}  // namespace migratekit

#endif  // MIGRATEKIT_SERVICES_COMMON_SYSTEMD_NOTIFY_H_
