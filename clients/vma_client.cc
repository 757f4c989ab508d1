#include "clients/vma_client.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/grpc_status.h"

namespace migratekit::clients {

using vma::v1::Job;

namespace {

std::string RandomJobId() {
  static absl::BitGen random;
  return absl::StrFormat("%08x", absl::Uniform<uint32_t>(random));
}

}  // namespace

bool JobEnded(const Job& job) {
  return job.phase() == vma::v1::JOB_PHASE_DONE ||
         job.phase() == vma::v1::JOB_PHASE_FAILED ||
         job.phase() == vma::v1::JOB_PHASE_CANCELLED;
}

VmaClient::VmaClient(const std::string& address, CallOptions options)
    : address_(address),
      options_(options),
      stub_(vma::v1::VmaService::NewStub(MakeChannel(address))) {}

std::string VmaClient::what(const char* call) const {
  return absl::StrCat("vma-api ", address_, ": ", call);
}

absl::StatusOr<Job> VmaClient::Start(vma::v1::StartReplicationRequest request) {
  if (request.job_id().empty()) request.set_job_id(RandomJobId());
  Job response;
  int attempts = 0;
  bool started_earlier = false;
  absl::Status status = CallWithRetry(
      options_, /*idempotent=*/true, what("StartReplication"),
      [&](grpc::ClientContext* context) {
        ++attempts;
        grpc::Status answer =
            stub_->StartReplication(context, request, &response);
        started_earlier = attempts > 1 && answer.error_code() ==
                                              grpc::StatusCode::ALREADY_EXISTS;
        return started_earlier ? grpc::Status::OK : answer;
      });
  if (!status.ok()) return status;
  if (started_earlier) return Get(request.job_id());
  return response;
}

absl::StatusOr<Job> VmaClient::Get(const std::string& job_id) {
  vma::v1::GetJobRequest request;
  request.set_job_id(job_id);
  Job response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("GetJob"),
                    [&](grpc::ClientContext* context) {
                      return stub_->GetJob(context, request, &response);
                    });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<Job>> VmaClient::List() {
  vma::v1::ListJobsRequest request;
  vma::v1::ListJobsResponse response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("ListJobs"),
                    [&](grpc::ClientContext* context) {
                      return stub_->ListJobs(context, request, &response);
                    });
  if (!status.ok()) return status;
  return std::vector<Job>(response.jobs().begin(), response.jobs().end());
}

absl::StatusOr<Job> VmaClient::Cancel(const std::string& job_id) {
  vma::v1::CancelJobRequest request;
  request.set_job_id(job_id);
  Job response;
  absl::Status status =
      CallWithRetry(options_, /*idempotent=*/true, what("CancelJob"),
                    [&](grpc::ClientContext* context) {
                      return stub_->CancelJob(context, request, &response);
                    });
  if (!status.ok()) return status;
  return response;
}

absl::Status VmaClient::Watch(const std::string& job_id,
                              const std::function<bool(const Job&)>& on_update,
                              Canceller* canceller) {
  vma::v1::WatchJobRequest request;
  request.set_job_id(job_id);
  absl::Time give_up = absl::Now() + options_.retry_budget;
  for (int attempt = 1;; ++attempt) {
    // No deadline: a job may run for hours. Liveness comes from the updates
    // the server sends every second.
    grpc::ClientContext context;
    if (canceller != nullptr) canceller->Attach(&context);
    std::unique_ptr<grpc::ClientReader<Job>> reader =
        stub_->WatchJob(&context, request);
    Job job;
    bool ended = false;
    while (reader->Read(&job)) {
      give_up = absl::Now() + options_.retry_budget;
      attempt = 1;
      if (!on_update(job) || JobEnded(job)) {
        ended = true;
        context.TryCancel();
        break;
      }
    }
    absl::Status status = FromGrpcStatus(reader->Finish());
    if (canceller != nullptr) canceller->Attach(nullptr);
    if (ended) return absl::OkStatus();
    if (canceller != nullptr && canceller->cancelled()) {
      return absl::CancelledError(
          absl::StrCat(what("WatchJob"), ": cancelled"));
    }
    if (status.ok()) return status;
    absl::Duration wait = BackoffFor(options_, attempt);
    if (status.code() != absl::StatusCode::kUnavailable ||
        absl::Now() + wait > give_up) {
      return absl::Status(status.code(), absl::StrCat(what("WatchJob"), ": ",
                                                      status.message()));
    }
    absl::SleepFor(wait);
  }
}

}  // namespace migratekit::clients
