// migctl's exit codes, documented in `migctl --help` and README.md.
#ifndef MIGRATEKIT_CLIENTS_MIGCTL_EXIT_CODES_H_
#define MIGRATEKIT_CLIENTS_MIGCTL_EXIT_CODES_H_

#include "absl/status/status.h"

namespace migratekit::migctl {

enum ExitCode {
  kExitOk = 0,
  // The service refused or the operation failed (a job that failed, an
  // export that could not be made).
  kExitFailed = 1,
  // Bad command line.
  kExitUsage = 2,
  // A service could not be reached in time (UNAVAILABLE, DEADLINE_EXCEEDED).
  kExitUnavailable = 3,
  // The copy finished but source and target digests differ.
  kExitVerifyMismatch = 4,
  // Interrupted by Ctrl-C; the job was cancelled.
  kExitInterrupted = 130,
};

inline ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return kExitUnavailable;
  }
  return kExitFailed;
}

constexpr char kExitCodesHelp[] =
    "Exit codes: 0 done; 1 the service refused or the operation failed; 2 bad "
    "command line; 3 a service could not be reached; 4 verification found "
    "source and target different; 130 interrupted (the job was cancelled).";

}  // namespace migratekit::migctl

#endif  // MIGRATEKIT_CLIENTS_MIGCTL_EXIT_CODES_H_
