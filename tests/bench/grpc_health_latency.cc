// Times gRPC health checks through several addresses side by side and
// prints "ADDRESS p50_ms=... p99_ms=..." for each (tunnel benchmark: the
// OMA calling the VMA through each reverse forward). Calls alternate
// between the addresses, one at a time, so that load from elsewhere on a
// shared machine falls on all of them alike.
//
//   grpc_health_latency CALLS ADDRESS...
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "proto/grpc/health/v1/health.pb.h"

namespace {

struct Target {
  const char* address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::internal::RpcMethod> method;
  std::vector<double> millis;
};

// One call; returns its duration in milliseconds, or -1 on failure.
double Call(Target& target) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  auto start = std::chrono::steady_clock::now();
  grpc::Status status = grpc::internal::BlockingUnaryCall(
      target.channel.get(), *target.method, &context, request, &response);
  auto took = std::chrono::steady_clock::now() - start;
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", target.address,
                 status.error_message().c_str());
    return -1;
  }
  return std::chrono::duration<double, std::milli>(took).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: grpc_health_latency CALLS ADDRESS...\n");
    return 2;
  }
  int calls = std::atoi(argv[1]);
  std::vector<Target> targets(argc - 2);
  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i].address = argv[i + 2];
    targets[i].channel =
        grpc::CreateChannel(argv[i + 2], grpc::InsecureChannelCredentials());
    targets[i].method = std::make_unique<grpc::internal::RpcMethod>(
        "/grpc.health.v1.Health/Check", grpc::internal::RpcMethod::NORMAL_RPC,
        targets[i].channel);
  }
  // The first calls set the connections up; they are not measured.
  for (int i = -10; i < calls; ++i) {
    for (Target& target : targets) {
      double millis = Call(target);
      if (millis < 0) return 1;
      if (i >= 0) target.millis.push_back(millis);
    }
  }
  for (Target& target : targets) {
    std::sort(target.millis.begin(), target.millis.end());
    std::printf("%s p50_ms=%.3f p99_ms=%.3f\n", target.address,
                target.millis[target.millis.size() / 2],
                target.millis[target.millis.size() * 99 / 100]);
  }
  return 0;
}
