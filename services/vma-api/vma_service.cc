#include "services/vma-api/vma_service.h"

#include "absl/time/time.h"
#include "services/common/grpc_status.h"
#include "services/common/logging.h"

namespace migratekit::vma {
namespace {

bool Terminal(v1::JobPhase phase) {
  return phase == v1::JOB_PHASE_DONE || phase == v1::JOB_PHASE_FAILED ||
         phase == v1::JOB_PHASE_CANCELLED;
}

}  // namespace

grpc::Status VmaServiceImpl::StartReplication(
    grpc::ServerContext*, const v1::StartReplicationRequest* request,
    v1::Job* response) {
  absl::StatusOr<v1::Job> job = jobs_->Start(*request);
  if (!job.ok()) {
    spdlog::info("job[{}]: refused: {}", Quoted(request->job_id()),
                 job.status());
    return ToGrpcStatus(job.status());
  }
  *response = *job;
  return grpc::Status::OK;
}

grpc::Status VmaServiceImpl::GetJob(grpc::ServerContext*,
                                    const v1::GetJobRequest* request,
                                    v1::Job* response) {
  auto job = jobs_->Find(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = (*job)->Snapshot();
  return grpc::Status::OK;
}

grpc::Status VmaServiceImpl::ListJobs(grpc::ServerContext*,
                                      const v1::ListJobsRequest*,
                                      v1::ListJobsResponse* response) {
  for (v1::Job& job : jobs_->List()) *response->add_jobs() = std::move(job);
  return grpc::Status::OK;
}

// The job now, then whenever it changes (its progress ticks a few times a
// second while it runs, and every phase change wakes the wait), and at
// least every half second; ends after the job has ended.
grpc::Status VmaServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::Job>* writer) {
  auto job = jobs_->Find(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());

  uint64_t seen = 0;
  while (!context->IsCancelled() && !shutting_down_.load()) {
    v1::Job snapshot = (*job)->Snapshot();
    if (!writer->Write(snapshot)) break;
    if (Terminal(snapshot.phase())) break;
    (*job)->WaitForUpdate(&seen, absl::Milliseconds(500));
  }
  return grpc::Status::OK;
}

grpc::Status VmaServiceImpl::CancelJob(grpc::ServerContext*,
                                       const v1::CancelJobRequest* request,
                                       v1::Job* response) {
  auto job = jobs_->Find(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  if (absl::Status s = (*job)->Cancel(); !s.ok()) return ToGrpcStatus(s);
  *response = (*job)->Snapshot();
  return grpc::Status::OK;
}

}  // namespace migratekit::vma
