#include "services/common/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "absl/time/time.h"

namespace migratekit {

SystemdNotifier::SystemdNotifier(std::function<bool()> alive)
    : alive_(std::move(alive)) {}

SystemdNotifier::~SystemdNotifier() { Stopping(); }

void SystemdNotifier::Ready() {
  sd_notify(0, "READY=1");
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    spdlog::info("systemd: watchdog interval_ms={}", usec / 1000);
    // Pinging at half the interval leaves room for one late ping.
    watchdog_ = std::thread([this, usec] { PingUntilStopped(usec / 2); });
  }
}

void SystemdNotifier::Stopping() {
  if (stopped_.HasBeenNotified()) return;
  stopped_.Notify();
  sd_notify(0, "STOPPING=1");
  if (watchdog_.joinable()) watchdog_.join();
}

void SystemdNotifier::PingUntilStopped(long interval_usec) {
  absl::Duration interval = absl::Microseconds(interval_usec);
  while (!stopped_.WaitForNotificationWithTimeout(interval)) {
    if (alive_ && !alive_()) {
      spdlog::warn("systemd: not alive; withholding the watchdog ping");
      continue;
    }
    sd_notify(0, "WATCHDOG=1");
  }
}

}  // namespace migratekit
