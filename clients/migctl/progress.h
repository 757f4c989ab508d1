// How migctl shows a job's progress: one line that a terminal redraws in
// place, or plain lines now and then when the output is a file or a pipe.
#ifndef MIGRATEKIT_CLIENTS_MIGCTL_PROGRESS_H_
#define MIGRATEKIT_CLIENTS_MIGCTL_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/time/time.h"
#include "proto/vma/v1/vma.pb.h"

namespace migratekit::migctl {

// "1.5 GiB", "512 B": binary units, one decimal.
std::string HumanBytes(uint64_t bytes);

// "ready", "copying", ... from a phase.
std::string PhaseName(vma::v1::JobPhase phase);

// The fraction of the job done, 0 to 1.
double FractionDone(const vma::v1::Job& job);

// One line about the job; with a bar of `bar_width` characters when that is
// more than zero:
//   job 7f3a copying  42.0% [########..........] 1.2 GiB/3.0 GiB
//   120.0 MiB/s eta 0:00:15
std::string ProgressLine(const vma::v1::Job& job, int bar_width);

class ProgressPrinter {
 public:
  // `terminal`: redraw one line with a bar; otherwise print a plain line at
  // every phase change and at most every `interval`.
  ProgressPrinter(FILE* out, bool terminal,
                  absl::Duration interval = absl::Seconds(5));

  void Update(const vma::v1::Job& job);
  // Ends the redrawn line, if any.
  void Finish();

 private:
  FILE* out_;
  bool terminal_;
  absl::Duration interval_;
  absl::Time last_print_ = absl::InfinitePast();
  vma::v1::JobPhase last_phase_ = vma::v1::JOB_PHASE_UNSPECIFIED;
  bool line_open_ = false;
};

}  // namespace migratekit::migctl

#endif  // MIGRATEKIT_CLIENTS_MIGCTL_PROGRESS_H_
