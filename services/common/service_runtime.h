// What every migratekit service binary runs on: a gRPC server with the
// standard health service (a status per registered service) and server
// reflection, a Prometheus endpoint, and an orderly shutdown on SIGTERM or
// SIGINT.
//
//   ServiceRuntime runtime({.name = "tunnel-manager",
//                           .grpc_listen = "127.0.0.1:8082",
//                           .metrics_listen = "127.0.0.1:9101"});
//   TunnelServiceImpl service(&runtime.metrics());
//   runtime.AddService(&service, "migratekit.tunnel.v1.TunnelService");
//   return runtime.Run();
//
// Run() binds both addresses (a bind failure is one log line and exit code
// 1), waits for a shutdown signal or RequestShutdown(), then marks every
// service NOT_SERVING, lets running calls finish until the shutdown
// deadline, cancels the rest and returns the exit code.
#ifndef MIGRATEKIT_SERVICES_COMMON_SERVICE_RUNTIME_H_
#define MIGRATEKIT_SERVICES_COMMON_SERVICE_RUNTIME_H_

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/common/systemd_notify.h"

namespace migratekit {

class ServiceRuntime {
 public:
  struct Options {
    // The binary's name, for logs.
    std::string name;
    // "host:port" for gRPC; port 0 picks a free one.
    std::string grpc_listen;
    // "host:port" for GET /metrics.
    std::string metrics_listen;
    // How long running calls may go on after a shutdown signal.
    absl::Duration shutdown_deadline = absl::Seconds(3);
  };

  explicit ServiceRuntime(Options options);
  ~ServiceRuntime();

  ServiceRuntime(const ServiceRuntime&) = delete;
  ServiceRuntime& operator=(const ServiceRuntime&) = delete;

  // The registry the metrics endpoint serves.
  prometheus::Registry& metrics() { return *registry_; }

  // Registers `service` before Start(); `health_name` is the name its health
  // status is kept under (its full protobuf service name). It starts as
  // NOT_SERVING until SetServing() says otherwise.
  void AddService(grpc::Service* service, std::string health_name);

  // Binds both addresses and starts serving.
  absl::Status Start();

  // Sets the health status of one registered service: SERVING only while it
  // can do its work. The server as a whole ("") is SERVING from Start() until
  // shutdown begins: the process is up and answers.
  void SetServing(const std::string& health_name, bool serving);

  // Makes Wait() return with `exit_code`; callable from any thread.
  void RequestShutdown(int exit_code);

  // Blocks until a shutdown signal or RequestShutdown(), then shuts down.
  // Returns the exit code.
  int Wait();

  // Start(), then Wait(); logs and returns 1 if Start() fails.
  int Run();

  // The gRPC port actually bound (useful with port 0).
  int grpc_port() const { return grpc_port_; }

  // Called once shutdown begins, before the gRPC server stops: services end
  // their streams and background work here.
  void OnShutdown(std::function<void()> callback);

  // Asked before each systemd watchdog ping (Type=notify units with
  // WatchdogSec): return false while the service's own work is stuck, so
  // that systemd restarts it. Set before Start().
  void SetLivenessCheck(std::function<bool()> alive);

 private:
  void WaitForSignals();

  const Options options_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<grpc::Service*> services_;
  std::vector<std::function<void()>> shutdown_callbacks_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::function<bool()> alive_;
  std::unique_ptr<SystemdNotifier> systemd_;
  int grpc_port_ = 0;

  absl::Mutex mu_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int exit_code_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification shutdown_requested_;
  std::thread signal_thread_;
};

}  // namespace migratekit

#endif  // MIGRATEKIT_SERVICES_COMMON_SERVICE_RUNTIME_H_
