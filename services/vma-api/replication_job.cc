#include "services/vma-api/replication_job.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "services/common/logging.h"
#include "services/vma-api/disk_digest.h"
#include "services/vma-api/nbd_connection.h"

namespace migratekit::vma {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(250);

void SetTime(absl::Time time, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(time));
  out->set_nanos((absl::ToUnixNanos(time) % 1000000000 + 1000000000) %
                 1000000000);
}

bool Terminal(v1::JobPhase phase) {
  return phase == v1::JOB_PHASE_DONE || phase == v1::JOB_PHASE_FAILED ||
         phase == v1::JOB_PHASE_CANCELLED;
}

std::string PhaseName(v1::JobPhase phase) {
  return v1::JobPhase_Name(phase).substr(10);
}

// The ranges a stored job covers: the changed extents (checked against
// the source's size when the job was accepted) or the whole source, whose
// size is then bytes_total.
std::vector<Range> WorkOf(const JobRecord& record) {
  std::vector<Range> changed;
  for (const v1::Extent& extent : record.request.changed_extents()) {
    changed.push_back({extent.offset(), extent.length()});
  }
  uint64_t limit =
      changed.empty() ? record.job.progress().bytes_total() : ~uint64_t{0};
  absl::StatusOr<std::vector<Range>> work = NormalizeWork(changed, limit);
  return work.ok() ? *work : std::vector<Range>{};
}

}  // namespace

ReplicationJob::ReplicationJob(JobRecord record, const JobEnvironment& env)
    : id_(record.job.job_id()),
      target_key_(absl::StrCat(record.request.target_address(), "/",
                               record.request.export_name())),
      env_(env),
      record_(std::move(record)) {
  env_.metrics->PhaseChanged(v1::JOB_PHASE_UNSPECIFIED, record_.job.phase());
}

ReplicationJob::~ReplicationJob() { Stop(); }

void ReplicationJob::Start() {
  if (Ended()) return;
  thread_ = std::thread([this] { Run(); });
}

absl::Status ReplicationJob::Cancel() {
  if (Ended()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id_, " has already ended"));
  }
  cancelled_.store(true);
  stop_.store(true);

  // Answer with the job as it ends: well under a second, unless a
  // checkpoint's flush is in flight and the target's disk is slow to finish
  // it (see KNOWN_LIMITATIONS.md). Past the deadline the answer shows the
  // job still stopping.
  uint64_t seen = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!Ended() && absl::Now() < deadline) {
    WaitForUpdate(&seen, absl::Milliseconds(100));
  }
  return absl::OkStatus();
}

void ReplicationJob::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool ReplicationJob::Ended() const {
  absl::MutexLock lock(&mu_);
  return Terminal(record_.job.phase());
}

v1::Job ReplicationJob::Snapshot() const {
  absl::MutexLock lock(&mu_);
  v1::Job job = record_.job;
  v1::JobProgress* progress = job.mutable_progress();
  if (engine_ != nullptr) {
    CopyProgress live = engine_->Progress();
    progress->set_bytes_copied(live.copied);
    progress->set_bytes_zeroed(live.zeroed);
  }
  if (job.phase() == v1::JOB_PHASE_COPYING) {
    progress->set_rate_bytes_per_second(rate_.BytesPerSecond());
    uint64_t done = progress->bytes_copied() + progress->bytes_zeroed();
    uint64_t total = progress->bytes_total();
    std::optional<absl::Duration> eta =
        rate_.Eta(total > done ? total - done : 0);
    if (eta.has_value()) {
      progress->mutable_eta()->set_seconds(absl::ToInt64Seconds(*eta));
    }
  }
  return job;
}

void ReplicationJob::WaitForUpdate(uint64_t* seen,
                                   absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  uint64_t before = *seen;
  auto changed = [this, before]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return changes_ != before;
  };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  *seen = changes_;
}

void ReplicationJob::Run() {
  bool complete;
  {
    absl::MutexLock lock(&mu_);
    complete = record_.checkpoint.complete;
  }
  if (!complete) SetPhase(v1::JOB_PHASE_COPYING, "");
  absl::Status status =
      complete ? absl::OkStatus()
               : WithRetries("copy", [this] { return CopyOnce(); });

  bool verify;
  {
    absl::MutexLock lock(&mu_);
    verify = record_.request.verify();
  }
  if (status.ok() && verify) {
    SetPhase(v1::JOB_PHASE_VERIFYING, "");
    status = WithRetries("verify", [this] { return VerifyOnce(); });
  }

  if (status.ok()) {
    SetPhase(v1::JOB_PHASE_DONE, "");
  } else if (cancelled_.load()) {
    SetPhase(v1::JOB_PHASE_CANCELLED, "");
  } else if (stop_.load()) {
    spdlog::info("job[{}]: stopped; continues when vma-api starts again", id_);
  } else {
    spdlog::error("job[{}]: failed: {}", id_, status);
    SetPhase(v1::JOB_PHASE_FAILED, std::string(status.message()));
  }
}

// A lost source or target (UNAVAILABLE) is tried again with backoff, from
// the last checkpoint; anything else ends the job.
absl::Status ReplicationJob::WithRetries(
    const char* what, const std::function<absl::Status()>& attempt) {
  absl::Duration backoff = env_.retry_initial;
  while (true) {
    absl::Status status = attempt();
    if (status.ok() || stop_.load()) return status;
    if (status.code() != absl::StatusCode::kUnavailable) return status;

    std::string reason =
        absl::StartsWith(status.message(), "source") ? "source" : "target";
    {
      absl::MutexLock lock(&mu_);
      if (static_cast<int>(record_.job.retries()) >= env_.max_retries) {
        return status;
      }
      record_.job.set_retries(record_.job.retries() + 1);
      record_.job.set_error(std::string(status.message()));
      SaveLocked();
    }
    env_.metrics->Retried(reason);
    spdlog::debug("job[{}]: {} interrupted, retry in {}: {}", id_, what,
                  absl::FormatDuration(backoff), status);
    if (!SleepUnlessStopped(backoff)) return absl::CancelledError("stopped");
    backoff = std::min(backoff * 2, env_.retry_max);
  }
}

bool ReplicationJob::SleepUnlessStopped(absl::Duration duration) {
  absl::Time until = absl::Now() + duration;
  while (absl::Now() < until) {
    if (stop_.load()) return false;
    absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
  }
  return !stop_.load();
}

absl::Status ReplicationJob::CopyOnce() {
  CopyOptions options;
  {
    absl::MutexLock lock(&mu_);
    const v1::StartReplicationRequest& request = record_.request;
    options.source_uri = request.source_uri();
    absl::StatusOr<std::string> target =
        TargetUri(request.target_address(), request.export_name());
    if (!target.ok()) return target.status();
    options.target_uri = *target;
    options.work = WorkOf(record_);
    options.start = record_.checkpoint;
    options.connections = request.connections();
    options.tuning.requests_in_flight = request.requests_per_connection();
    options.tuning.request_size = request.request_size_bytes();
    options.tuning.target_reads_as_zero = request.target_reads_as_zero();
  }
  options.checkpoint_interval = env_.checkpoint_interval;
  options.cancel = &stop_;
  options.on_checkpoint = [this](const Checkpoint& checkpoint) {
    return SaveCheckpoint(checkpoint);
  };
  options.metrics = env_.metrics->copy_metrics();

  CopyEngine engine(options);
  {
    absl::MutexLock lock(&mu_);
    engine_ = &engine;
  }
  absl::Status status;
  absl::Notification done;
  std::thread runner([&] {
    status = engine.Run();
    done.Notify();
  });
  while (!done.WaitForNotificationWithTimeout(kTick)) {
    absl::MutexLock lock(&mu_);
    TickLocked();
  }
  runner.join();

  // What counts from here on is what the checkpoint holds: bytes written
  // after it are written again by the next attempt.
  absl::MutexLock lock(&mu_);
  engine_ = nullptr;
  v1::JobProgress* progress = record_.job.mutable_progress();
  progress->set_bytes_copied(record_.checkpoint.copied);
  progress->set_bytes_zeroed(record_.checkpoint.zeroed);
  TickLocked();
  return status;
}

absl::Status ReplicationJob::VerifyOnce() {
  std::string source_uri, target_uri;
  {
    absl::MutexLock lock(&mu_);
    source_uri = record_.request.source_uri();
    absl::StatusOr<std::string> target = TargetUri(
        record_.request.target_address(), record_.request.export_name());
    if (!target.ok()) return target.status();
    target_uri = *target;
  }
  absl::StatusOr<DiskSizes> sizes = ProbeDisks(source_uri, target_uri);
  if (!sizes.ok()) return sizes.status();

  // The target may be larger than the source: compare what the source has.
  absl::StatusOr<DiskDigest> source, target;
  std::thread source_reader([&] {
    source = DigestDisk(source_uri, "source", env_.digest_chunk, 0, &stop_);
  });
  target = DigestDisk(target_uri, "target", env_.digest_chunk, sizes->source,
                      &stop_);
  source_reader.join();
  if (!source.ok()) return source.status();
  if (!target.ok()) return target.status();

  {
    absl::MutexLock lock(&mu_);
    record_.job.set_source_digest(source->hex);
    record_.job.set_target_digest(target->hex);
    SaveLocked();
  }
  std::optional<Range> differs = FirstDifference(*source, *target);
  if (!differs.has_value()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("verify: the target differs from the source in bytes [",
                   differs->offset, ", ", differs->end(), "); source sha256 ",
                   source->hex, ", target sha256 ", target->hex));
}

void ReplicationJob::SetPhase(v1::JobPhase phase, const std::string& error) {
  absl::MutexLock lock(&mu_);
  v1::JobPhase before = record_.job.phase();
  record_.job.set_phase(phase);
  if (!error.empty() || phase != v1::JOB_PHASE_FAILED) {
    record_.job.set_error(error);
  }
  if (Terminal(phase)) SetTime(absl::Now(), record_.job.mutable_end_time());
  SaveLocked();
  TickLocked();
  env_.metrics->PhaseChanged(before, phase);
  spdlog::info("job[{}]: phase={} copied={} zeroed={}", id_,
               absl::AsciiStrToLower(PhaseName(phase)),
               record_.job.progress().bytes_copied(),
               record_.job.progress().bytes_zeroed());
}

absl::Status ReplicationJob::SaveCheckpoint(const Checkpoint& checkpoint) {
  absl::MutexLock lock(&mu_);
  record_.checkpoint = checkpoint;
  record_.job.mutable_progress()->set_checkpoint_bytes(checkpoint.copied +
                                                       checkpoint.zeroed);
  SetTime(absl::Now(), record_.job.mutable_update_time());
  spdlog::debug("job[{}]: checkpoint offset={}", id_, checkpoint.offset);
  return env_.store->Update(record_);
}

void ReplicationJob::SaveLocked() {
  SetTime(absl::Now(), record_.job.mutable_update_time());
  absl::Status status = env_.store->Update(record_);
  if (!status.ok()) {
    spdlog::error("job[{}]: cannot save: {}", id_, status);
  }
}

void ReplicationJob::TickLocked() {
  uint64_t done;
  if (engine_ != nullptr) {
    CopyProgress live = engine_->Progress();
    done = live.copied + live.zeroed;
  } else {
    done = record_.job.progress().bytes_copied() +
           record_.job.progress().bytes_zeroed();
  }
  rate_.Add(absl::Now(), done);
  ++changes_;
}

}  // namespace migratekit::vma
