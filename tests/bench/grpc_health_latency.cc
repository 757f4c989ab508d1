// Times gRPC health checks, one after another on one channel, and prints
// "p50_ms=... p99_ms=..." (tunnel benchmark: the OMA calling the VMA
// through the reverse forward).
//
//   grpc_health_latency ADDRESS CALLS
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "proto/grpc/health/v1/health.pb.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: grpc_health_latency ADDRESS CALLS\n");
    return 2;
  }
  auto channel =
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                         grpc::internal::RpcMethod::NORMAL_RPC,
                                         channel);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  std::vector<double> millis;
  int calls = std::atoi(argv[2]);
  for (int i = 0; i < calls + 10; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    auto start = std::chrono::steady_clock::now();
    grpc::Status status = grpc::internal::BlockingUnaryCall(
        channel.get(), method, &context, request, &response);
    auto took = std::chrono::steady_clock::now() - start;
    if (!status.ok()) {
      std::fprintf(stderr, "call failed: %s\n", status.error_message().c_str());
      return 1;
    }
    // The first calls set the connection up; they are not measured.
    if (i >= 10) {
      millis.push_back(std::chrono::duration<double, std::milli>(took).count());
    }
  }
  std::sort(millis.begin(), millis.end());
  std::printf("p50_ms=%.3f p99_ms=%.3f\n", millis[millis.size() / 2],
              millis[millis.size() * 99 / 100]);
  return 0;
}
