#include "clients/migctl/progress.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace migratekit::migctl {

std::string HumanBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string PhaseName(vma::v1::JobPhase phase) {
  std::string name = vma::v1::JobPhase_Name(phase);
  const std::string prefix = "JOB_PHASE_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

double FractionDone(const vma::v1::Job& job) {
  const auto& progress = job.progress();
  if (progress.bytes_total() == 0) {
    return job.phase() == vma::v1::JOB_PHASE_DONE ? 1.0 : 0.0;
  }
  double done = static_cast<double>(progress.bytes_copied()) +
                static_cast<double>(progress.bytes_zeroed());
  return std::clamp(done / static_cast<double>(progress.bytes_total()), 0.0,
                    1.0);
}

std::string ProgressLine(const vma::v1::Job& job, int bar_width) {
  const auto& progress = job.progress();
  double fraction = FractionDone(job);
  std::string line = absl::StrFormat("job %s %-9s %5.1f%%", job.job_id(),
                                     PhaseName(job.phase()), fraction * 100);
  if (bar_width > 0) {
    int filled = static_cast<int>(fraction * bar_width);
    absl::StrAppend(&line, " [", std::string(filled, '#'),
                    std::string(bar_width - filled, '.'), "]");
  }
  absl::StrAppend(&line, " ",
                  HumanBytes(progress.bytes_copied() + progress.bytes_zeroed()),
                  "/", HumanBytes(progress.bytes_total()));
  if (progress.rate_bytes_per_second() > 0) {
    absl::StrAppend(
        &line, " ",
        HumanBytes(static_cast<uint64_t>(progress.rate_bytes_per_second())),
        "/s");
  }
  if (progress.has_eta()) {
    int64_t seconds = progress.eta().seconds();
    absl::StrAppend(&line, absl::StrFormat(" eta %d:%02d:%02d", seconds / 3600,
                                           seconds / 60 % 60, seconds % 60));
  }
  return line;
}

ProgressPrinter::ProgressPrinter(FILE* out, bool terminal,
                                 absl::Duration interval)
    : out_(out), terminal_(terminal), interval_(interval) {}

void ProgressPrinter::Update(const vma::v1::Job& job) {
  if (terminal_) {
    // \r and "erase to end of line" redraw the one line in place.
    std::fprintf(out_, "\r%s\033[K", ProgressLine(job, 30).c_str());
    std::fflush(out_);
    line_open_ = true;
    return;
  }
  absl::Time now = absl::Now();
  if (job.phase() == last_phase_ && now - last_print_ < interval_) return;
  last_phase_ = job.phase();
  last_print_ = now;
  std::fprintf(out_, "%s\n", ProgressLine(job, 0).c_str());
  std::fflush(out_);
}

void ProgressPrinter::Finish() {
  if (line_open_) std::fprintf(out_, "\n");
  line_open_ = false;
}

}  // namespace migratekit::migctl
