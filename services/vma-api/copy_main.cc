// migratekit-copy: the copy engine alone, from one NBD URI to another, for
// benchmarks and for trying the engine by hand. Prints one line with the
// seconds taken, the bytes copied and zeroed, and the peak RSS.
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "services/common/logging.h"
#include "services/vma-api/copy_engine.h"
#include "services/vma-api/nbd_connection.h"

ABSL_FLAG(std::string, source, "", "NBD URI of the source disk.");
ABSL_FLAG(std::string, target, "", "NBD URI of the target disk.");
ABSL_FLAG(int, connections, 4, "NBD connections to each of source, target.");
ABSL_FLAG(int, requests, 16, "Requests in flight per connection.");
ABSL_FLAG(uint64_t, request_size, 2 << 20, "Bytes per data request.");
ABSL_FLAG(bool, target_reads_as_zero, false,
          "The target is fresh: count zero runs instead of writing them.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Copies one NBD disk to another with the copy engine.\n"
      "Usage: migratekit-copy --source=URI --target=URI");
  absl::ParseCommandLine(argc, argv);

  std::string source = absl::GetFlag(FLAGS_source);
  std::string target = absl::GetFlag(FLAGS_target);
  absl::StatusOr<migratekit::vma::DiskSizes> sizes =
      migratekit::vma::ProbeDisks(source, target);
  if (!sizes.ok()) {
    spdlog::error("copy: {}", sizes.status());
    return 1;
  }

  migratekit::vma::CopyOptions options;
  options.source_uri = source;
  options.target_uri = target;
  options.work = {{0, sizes->source}};
  options.connections = absl::GetFlag(FLAGS_connections);
  options.tuning.requests_in_flight = absl::GetFlag(FLAGS_requests);
  options.tuning.request_size = absl::GetFlag(FLAGS_request_size);
  options.tuning.target_reads_as_zero =
      absl::GetFlag(FLAGS_target_reads_as_zero);
  options.checkpoint_interval = absl::Hours(1);

  absl::Time start = absl::Now();
  migratekit::vma::CopyEngine engine(options);
  absl::Status status = engine.Run();
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) {
    spdlog::error("copy: {}", status);
    return 1;
  }

  rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("seconds=%.3f copied=%llu zeroed=%llu peak_rss_kib=%ld\n",
              seconds,
              static_cast<unsigned long long>(engine.Progress().copied),
              static_cast<unsigned long long>(engine.Progress().zeroed),
              usage.ru_maxrss);
  return 0;
}
