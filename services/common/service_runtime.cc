#include "services/common/service_runtime.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/common/net_address.h"

namespace migratekit {
namespace {

// Why binding `address` fails, found by trying it: gRPC only says that it
// could not, in several lines of its own.
std::string BindError(const std::string& address) {
  absl::StatusOr<HostPort> host_port = ParseHostPort(address);
  if (!host_port.ok()) return std::string(host_port.status().message());
  absl::StatusOr<int> fd = BindTcp(*host_port);
  if (fd.ok()) {
    close(*fd);
    return "refused by gRPC (see --log_level=debug)";
  }
  // The message names the address again; keep only why.
  std::string message(fd.status().message());
  size_t colon = message.rfind(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

sigset_t ShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

// True when main() blocked the shutdown signals (InitService does), so that
// a thread may wait for them. A test that builds a runtime without that
// leaves signals to their defaults.
bool ShutdownSignalsBlocked() {
  sigset_t current;
  pthread_sigmask(SIG_BLOCK, nullptr, &current);
  return sigismember(&current, SIGTERM) == 1;
}

}  // namespace

ServiceRuntime::ServiceRuntime(Options options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()) {}

ServiceRuntime::~ServiceRuntime() {
  RequestShutdown(0);
  if (signal_thread_.joinable()) signal_thread_.join();
}

void ServiceRuntime::AddService(grpc::Service* service,
                                std::string health_name) {
  services_.push_back(service);
  absl::MutexLock lock(&mu_);
  serving_[std::move(health_name)] = false;
}

void ServiceRuntime::SetLivenessCheck(std::function<bool()> alive) {
  alive_ = std::move(alive);
}

void ServiceRuntime::OnShutdown(std::function<void()> callback) {
  shutdown_callbacks_.push_back(std::move(callback));
}

absl::Status ServiceRuntime::Start() {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_listen,
                                                     /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", options_.metrics_listen,
                     ": ", BindError(options_.metrics_listen)));
  }
  exposer_->RegisterCollectable(registry_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second copy of a
  // service bind the same port and steal half its calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options_.grpc_listen,
                           grpc::InsecureServerCredentials(), &grpc_port_);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("grpc: cannot listen on ", options_.grpc_listen, ": ",
                     BindError(options_.grpc_listen)));
  }

  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, serving] : serving_) {
      server_->GetHealthCheckService()->SetServingStatus(name, serving);
    }
    // The server as a whole ("") is SERVING while the process runs and
    // answers; whether each service can do its work is its own status.
    server_->GetHealthCheckService()->SetServingStatus("", true);
  }
  if (ShutdownSignalsBlocked()) {
    signal_thread_ = std::thread([this] { WaitForSignals(); });
  }
  spdlog::info("{}: serving grpc={} grpc_port={} metrics={}", options_.name,
               options_.grpc_listen, grpc_port_, options_.metrics_listen);
  systemd_ = std::make_unique<SystemdNotifier>(alive_);
  systemd_->Ready();
  return absl::OkStatus();
}

void ServiceRuntime::SetServing(const std::string& health_name, bool serving) {
  absl::MutexLock lock(&mu_);
  serving_[health_name] = serving;
  if (server_ == nullptr || shutting_down_) return;
  server_->GetHealthCheckService()->SetServingStatus(health_name, serving);
}

void ServiceRuntime::WaitForSignals() {
  sigset_t signals = ShutdownSignals();
  // Wakes now and then to notice a shutdown asked for by the program itself.
  const timespec poll = {0, 200 * 1000 * 1000};
  while (!shutdown_requested_.HasBeenNotified()) {
    int signal_number = sigtimedwait(&signals, nullptr, &poll);
    if (signal_number > 0) {
      spdlog::info("{}: shutting down signal={}", options_.name,
                   sigabbrev_np(signal_number));
      RequestShutdown(0);
    }
  }
}

void ServiceRuntime::RequestShutdown(int exit_code) {
  absl::MutexLock lock(&mu_);
  if (shutdown_requested_.HasBeenNotified()) return;
  exit_code_ = exit_code;
  shutdown_requested_.Notify();
}

int ServiceRuntime::Wait() {
  shutdown_requested_.WaitForNotification();
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }

  systemd_->Stopping();
  // Health first, so that a watcher sees NOT_SERVING before the port goes.
  if (server_ == nullptr) return exit_code_;
  server_->GetHealthCheckService()->Shutdown();
  for (auto& callback : shutdown_callbacks_) callback();
  server_->Shutdown(
      absl::ToChronoTime(absl::Now() + options_.shutdown_deadline));
  server_->Wait();
  exposer_.reset();

  absl::MutexLock lock(&mu_);
  spdlog::info("{}: stopped exit_code={}", options_.name, exit_code_);
  return exit_code_;
}

int ServiceRuntime::Run() {
  absl::Status status = Start();
  if (!status.ok()) {
    spdlog::error("{}: {}", options_.name, status.message());
    return 1;
  }
  return Wait();
}

}  // namespace migratekit
