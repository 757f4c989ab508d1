#include "services/vma-api/job_manager.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/logging.h"
#include "services/vma-api/extent_plan.h"
#include "services/vma-api/nbd_connection.h"

namespace migratekit::vma {
namespace {

absl::Status CheckJobId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '_');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "job_id must be 1 to 64 characters of [A-Za-z0-9_-]");
}

std::string RandomJobId() {
  absl::BitGen random;
  return absl::StrFormat("%08x", absl::Uniform<uint32_t>(random));
}

absl::Status CheckTuning(const v1::StartReplicationRequest& request) {
  if (request.connections() < 1 || request.connections() > 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "connections must be 1 to 16, not ", request.connections()));
  }
  if (request.requests_per_connection() < 1 ||
      request.requests_per_connection() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("requests_per_connection must be 1 to 64, not ",
                     request.requests_per_connection()));
  }
  uint32_t size = request.request_size_bytes();
  if (size < 4096 || size > (32u << 20) || (size & (size - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_size_bytes must be a power of two from 4096 to 33554432, "
        "not ",
        size));
  }
  return absl::OkStatus();
}

absl::Status CheckSourceUri(const std::string& uri) {
  if (absl::StartsWith(uri, "nbd://") || absl::StartsWith(uri, "nbd+unix://") ||
      absl::StartsWith(uri, "nbds://") ||
      absl::StartsWith(uri, "nbds+unix://")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "source_uri ", Quoted(uri),
      " is not an NBD URI (nbd://, nbd+unix://, nbds://, nbds+unix://)"));
}

// Says which part of the way to the target failed, for the operator.
absl::Status ExplainProbe(const absl::Status& status,
                          const v1::StartReplicationRequest& request) {
  bool target = absl::StartsWith(status.message(), "target");
  if (target && status.code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(absl::StrCat(
        "target address ", request.target_address(),
        " does not answer (is the tunnel up?): ", status.message()));
  }
  if (target && status.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(
        absl::StrCat("export ", request.export_name(), " is not served at ",
                     request.target_address(), ": ", status.message()));
  }
  if (!target && status.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat("source: ", status.message()));
  }
  return status;
}

}  // namespace

JobManager::JobManager(JobStore* store, JobDefaults defaults,
                       JobEnvironment env)
    : store_(store), defaults_(std::move(defaults)), env_(env) {}

JobManager::~JobManager() { Shutdown(); }

absl::Status JobManager::Recover() {
  absl::StatusOr<std::vector<JobRecord>> records = store_->LoadAll();
  if (!records.ok()) return records.status();

  absl::MutexLock lock(&mu_);
  for (JobRecord& record : *records) {
    std::string id = record.job.job_id();
    auto job = std::make_shared<ReplicationJob>(std::move(record), env_);
    if (!job->Ended()) {
      spdlog::info("job[{}]: continues after a restart", id);
      job->Start();
    }
    jobs_[id] = job;
    order_.push_back(id);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Job> JobManager::Start(
    const v1::StartReplicationRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    if (!request.job_id().empty() && jobs_.count(request.job_id()) != 0) {
      absl::StatusOr<JobRecord> record = ResumableLocked(request);
      if (!record.ok()) return record.status();
      if (absl::Status s = CheckExportFreeLocked(*record); !s.ok()) return s;
      if (absl::Status s = store_->Update(*record); !s.ok()) return s;
      env_.metrics->PhaseChanged(jobs_.at(request.job_id())->Snapshot().phase(),
                                 v1::JOB_PHASE_UNSPECIFIED);
      auto job = std::make_shared<ReplicationJob>(*record, env_);
      jobs_[request.job_id()] = job;
      job->Start();
      spdlog::info("job[{}]: resumed offset={}", request.job_id(),
                   record->checkpoint.offset);
      return job->Snapshot();
    }
  }

  absl::StatusOr<JobRecord> record = Accept(request);
  if (!record.ok()) return record.status();

  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("vma-api is shutting down");
  const std::string& id = record->job.job_id();
  if (jobs_.count(id) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("job ", id, " exists"));
  }
  if (absl::Status s = CheckExportFreeLocked(*record); !s.ok()) return s;
  if (absl::Status s = store_->Insert(*record); !s.ok()) return s;

  auto job = std::make_shared<ReplicationJob>(*record, env_);
  jobs_[id] = job;
  order_.push_back(id);
  job->Start();
  spdlog::info("job[{}]: started export={} bytes={}", id,
               Quoted(record->request.export_name()),
               record->job.progress().bytes_total());
  return job->Snapshot();
}

// Everything that can be checked before a job exists, in the order an
// operator would fix it: the request itself, then the source, then the
// target.
absl::StatusOr<JobRecord> JobManager::Accept(
    const v1::StartReplicationRequest& request) {
  JobRecord record;
  v1::StartReplicationRequest& accepted = record.request;
  accepted = request;
  if (accepted.job_id().empty()) accepted.set_job_id(RandomJobId());
  if (accepted.target_address().empty()) {
    accepted.set_target_address(defaults_.target_address);
  }
  if (accepted.connections() == 0) {
    accepted.set_connections(defaults_.connections);
  }
  if (accepted.requests_per_connection() == 0) {
    accepted.set_requests_per_connection(defaults_.requests_per_connection);
  }
  if (accepted.request_size_bytes() == 0) {
    accepted.set_request_size_bytes(defaults_.request_size_bytes);
  }

  if (absl::Status s = CheckJobId(accepted.job_id()); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    if (jobs_.count(accepted.job_id()) != 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("job ", accepted.job_id(), " exists"));
    }
  }
  if (absl::Status s = CheckSourceUri(accepted.source_uri()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> target_uri =
      TargetUri(accepted.target_address(), accepted.export_name());
  if (!target_uri.ok()) return target_uri.status();
  if (absl::Status s = CheckTuning(accepted); !s.ok()) return s;

  absl::StatusOr<DiskSizes> sizes =
      ProbeDisks(accepted.source_uri(), *target_uri);
  if (!sizes.ok()) return ExplainProbe(sizes.status(), accepted);

  std::vector<Range> changed;
  for (const v1::Extent& extent : accepted.changed_extents()) {
    changed.push_back({extent.offset(), extent.length()});
  }
  absl::StatusOr<std::vector<Range>> work =
      NormalizeWork(changed, sizes->source);
  if (!work.ok()) return work.status();

  v1::Job& job = record.job;
  job.set_job_id(accepted.job_id());
  job.set_source_uri(accepted.source_uri());
  job.set_export_name(accepted.export_name());
  job.set_target_address(accepted.target_address());
  job.set_verify(accepted.verify());
  job.set_incremental(!changed.empty());
  job.set_phase(v1::JOB_PHASE_QUEUED);
  job.mutable_progress()->set_bytes_total(TotalBytes(*work));
  absl::Time now = absl::Now();
  job.mutable_create_time()->set_seconds(absl::ToUnixSeconds(now));
  job.mutable_update_time()->set_seconds(absl::ToUnixSeconds(now));
  record.checkpoint.offset = work->front().offset;
  return record;
}

absl::Status JobManager::CheckExportFreeLocked(const JobRecord& record) {
  std::string key = absl::StrCat(record.request.target_address(), "/",
                                 record.request.export_name());
  for (const auto& [other_id, other] : jobs_) {
    if (other->target_key() == key && !other->Ended()) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", other_id, " is already writing export ",
                       record.request.export_name()));
    }
  }
  return absl::OkStatus();
}

// Resuming is for a job that stopped short (cancelled, or failed after its
// retries): the same id with the same source and target, so that its
// checkpoint still means what it meant.
absl::StatusOr<JobRecord> JobManager::ResumableLocked(
    const v1::StartReplicationRequest& request) {
  const std::string& id = request.job_id();
  v1::Job job = jobs_.at(id)->Snapshot();
  if (job.phase() != v1::JOB_PHASE_CANCELLED &&
      job.phase() != v1::JOB_PHASE_FAILED) {
    return absl::AlreadyExistsError(absl::StrCat(
        "job ", id, " exists and is ",
        absl::AsciiStrToLower(v1::JobPhase_Name(job.phase()).substr(10))));
  }
  absl::StatusOr<std::vector<JobRecord>> records = store_->LoadAll();
  if (!records.ok()) return records.status();
  for (JobRecord& record : *records) {
    if (record.job.job_id() != id) continue;
    const v1::StartReplicationRequest& was = record.request;
    std::string target = request.target_address().empty()
                             ? defaults_.target_address
                             : request.target_address();
    bool same = was.source_uri() == request.source_uri() &&
                was.export_name() == request.export_name() &&
                was.target_address() == target &&
                was.changed_extents_size() == request.changed_extents_size();
    for (int i = 0; same && i < was.changed_extents_size(); ++i) {
      same = was.changed_extents(i).offset() ==
                 request.changed_extents(i).offset() &&
             was.changed_extents(i).length() ==
                 request.changed_extents(i).length();
    }
    if (!same) {
      return absl::AlreadyExistsError(absl::StrCat(
          "job ", id, " exists with another source, target or extents"));
    }
    record.request.set_verify(request.verify());
    record.job.set_verify(request.verify());
    record.job.set_phase(v1::JOB_PHASE_QUEUED);
    record.job.clear_error();
    record.job.clear_end_time();
    return record;
  }
  return absl::NotFoundError(absl::StrCat("job ", id, " is not stored"));
}

absl::StatusOr<std::shared_ptr<ReplicationJob>> JobManager::Find(
    const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("no job ", Quoted(job_id)));
  }
  return found->second;
}

std::vector<v1::Job> JobManager::List() const {
  std::vector<std::shared_ptr<ReplicationJob>> jobs;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      jobs.push_back(jobs_.at(*it));
    }
  }
  std::vector<v1::Job> snapshots;
  for (const auto& job : jobs) snapshots.push_back(job->Snapshot());
  return snapshots;
}

void JobManager::Shutdown() {
  std::vector<std::shared_ptr<ReplicationJob>> jobs;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (const auto& [id, job] : jobs_) jobs.push_back(job);
  }
  for (const auto& job : jobs) job->Stop();
}

}  // namespace migratekit::vma
