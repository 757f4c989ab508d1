#include "services/vma-api/vma_service.h"

namespace migratekit::vma {
namespace {

grpc::Status NotBuilt(const char* call) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      std::string(call) + ": replication jobs are not implemented yet");
}

}  // namespace

grpc::Status VmaServiceImpl::StartReplication(
    grpc::ServerContext*, const v1::StartReplicationRequest*, v1::Job*) {
  return NotBuilt("StartReplication");
}

grpc::Status VmaServiceImpl::GetJob(grpc::ServerContext*,
                                    const v1::GetJobRequest*, v1::Job*) {
  return NotBuilt("GetJob");
}

grpc::Status VmaServiceImpl::ListJobs(grpc::ServerContext*,
                                      const v1::ListJobsRequest*,
                                      v1::ListJobsResponse*) {
  return NotBuilt("ListJobs");
}

grpc::Status VmaServiceImpl::WatchJob(grpc::ServerContext*,
                                      const v1::WatchJobRequest*,
                                      grpc::ServerWriter<v1::Job>*) {
  return NotBuilt("WatchJob");
}

grpc::Status VmaServiceImpl::CancelJob(grpc::ServerContext*,
                                       const v1::CancelJobRequest*, v1::Job*) {
  return NotBuilt("CancelJob");
}

}  // namespace migratekit::vma
