#include "clients/migctl/migrate.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/migctl/progress.h"

namespace migratekit::migctl {

Migration::Migration(clients::ExportClient* exports, clients::VmaClient* vma,
                     FILE* out, bool terminal)
    : exports_(exports), vma_(vma), out_(out), terminal_(terminal) {}

void Migration::Step(const std::string& text) {
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

ExitCode Migration::Run(const MigrateOptions& options,
                        clients::Canceller* interrupt) {
  absl::Time started = absl::Now();

  // 1. The export.
  absl::StatusOr<exports::v1::Export> exported =
      exports_->Create(options.volume_id, options.device_path, false);
  if (!exported.ok()) {
    Step(absl::StrCat("migrate: creating the export failed: ",
                      exported.status().message()));
    Step("migrate: nothing was started; nothing to clean up");
    return ExitCodeFor(exported.status());
  }
  Step(absl::StrCat("export ", exported->name(),
                    " served: ", options.device_path, ", ",
                    HumanBytes(exported->size_bytes())));
  std::string left_export =
      absl::StrCat("export ", exported->name(),
                   " is left in place (remove it with: migctl "
                   "exports delete --volume-id ",
                   options.volume_id, ")");

  // 2. The job.
  vma::v1::StartReplicationRequest request;
  request.set_job_id(options.job_id);
  request.set_source_uri(options.source_uri);
  request.set_export_name(exported->name());
  request.set_target_address(options.target_address);
  request.set_verify(options.verify);
  request.set_connections(options.connections);
  absl::StatusOr<vma::v1::Job> job = vma_->Start(request);
  if (!job.ok()) {
    Step(absl::StrCat("migrate: starting the job failed: ",
                      job.status().message()));
    Step(absl::StrCat("migrate: ", left_export));
    return ExitCodeFor(job.status());
  }
  job_ = *job;
  Step(absl::StrCat("job ", job_.job_id(), " started: ", options.source_uri,
                    " -> ", exported->name()));

  // 3. Progress until the job ends or Ctrl-C.
  ProgressPrinter progress(out_, terminal_);
  absl::Status watched = vma_->Watch(
      job_.job_id(),
      [&](const vma::v1::Job& update) {
        job_ = update;
        progress.Update(update);
        return true;
      },
      interrupt);
  progress.Finish();
  if (interrupt->cancelled()) {
    absl::StatusOr<vma::v1::Job> cancelled = vma_->Cancel(job_.job_id());
    if (cancelled.ok()) job_ = *cancelled;
    Step(absl::StrCat("migrate: interrupted; job ", job_.job_id(), " ",
                      cancelled.ok() ? "cancelled" : "may still be running: ",
                      cancelled.ok() ? "" : cancelled.status().message()));
    Step(absl::StrCat("migrate: ", left_export));
    return kExitInterrupted;
  }
  if (!watched.ok()) {
    Step(absl::StrCat("migrate: lost the job's progress: ", watched.message()));
    Step(absl::StrCat("migrate: job ", job_.job_id(),
                      " may still be running on the VMA; ", left_export));
    return ExitCodeFor(watched);
  }

  // 4. The outcome.
  if (job_.phase() != vma::v1::JOB_PHASE_DONE) {
    Step(absl::StrCat("migrate: job ", job_.job_id(), " ",
                      PhaseName(job_.phase()), ": ", job_.error()));
    Step(absl::StrCat("migrate: ", left_export));
    bool mismatch = !job_.source_digest().empty() &&
                    !job_.target_digest().empty() &&
                    job_.source_digest() != job_.target_digest();
    return mismatch ? kExitVerifyMismatch : kExitFailed;
  }
  if (options.verify) {
    Step(absl::StrCat("verified: source and target sha256 ",
                      job_.target_digest()));
  }
  absl::Duration took = absl::Now() - started;
  uint64_t total = job_.progress().bytes_total();
  Step(absl::StrCat(
      "copied ", HumanBytes(total), " (",
      HumanBytes(job_.progress().bytes_copied()), " data, ",
      HumanBytes(job_.progress().bytes_zeroed()), " zeroes) in ",
      absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(100))), ", ",
      HumanBytes(static_cast<uint64_t>(total / absl::ToDoubleSeconds(took))),
      "/s"));

  // 5. Clean up.
  if (options.keep_export) {
    Step(absl::StrCat("export ", exported->name(), " kept (--keep-export)"));
    return kExitOk;
  }
  absl::Status deleted = exports_->Delete(options.volume_id);
  if (!deleted.ok()) {
    Step(
        absl::StrCat("migrate: the copy is complete, but removing the export "
                     "failed: ",
                     deleted.message()));
    return ExitCodeFor(deleted);
  }
  Step(absl::StrCat("export ", exported->name(), " removed"));
  return kExitOk;
}

}  // namespace migratekit::migctl
