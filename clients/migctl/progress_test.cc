#include "clients/migctl/progress.h"

#include <gtest/gtest.h>

namespace migratekit::migctl {
namespace {

vma::v1::Job JobAt(uint64_t copied, uint64_t zeroed, uint64_t total) {
  vma::v1::Job job;
  job.set_job_id("7f3a");
  job.set_phase(vma::v1::JOB_PHASE_COPYING);
  job.mutable_progress()->set_bytes_copied(copied);
  job.mutable_progress()->set_bytes_zeroed(zeroed);
  job.mutable_progress()->set_bytes_total(total);
  return job;
}

TEST(HumanBytes, UsesBinaryUnits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(3ull << 30), "3.0 GiB");
}

TEST(FractionDone, CountsDataAndZeroes) {
  EXPECT_DOUBLE_EQ(FractionDone(JobAt(25, 25, 100)), 0.5);
  EXPECT_DOUBLE_EQ(FractionDone(JobAt(0, 0, 0)), 0.0);
  EXPECT_DOUBLE_EQ(FractionDone(JobAt(200, 0, 100)), 1.0);
}

TEST(ProgressLine, ShowsPhasePercentBarAndEta) {
  vma::v1::Job job = JobAt(1 << 20, 1 << 20, 4 << 20);
  job.mutable_progress()->set_rate_bytes_per_second(1 << 20);
  job.mutable_progress()->mutable_eta()->set_seconds(3725);
  EXPECT_EQ(ProgressLine(job, 10),
            "job 7f3a copying    50.0% [#####.....] 2.0 MiB/4.0 MiB "
            "1.0 MiB/s eta 1:02:05");
}

TEST(ProgressPrinter, PlainOutputPrintsPhaseChangesAndNotEveryUpdate) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  ProgressPrinter printer(out, /*terminal=*/false, absl::Hours(1));
  vma::v1::Job job = JobAt(1, 0, 4);
  printer.Update(job);
  printer.Update(job);
  job.set_phase(vma::v1::JOB_PHASE_DONE);
  printer.Update(job);
  printer.Finish();
  std::fclose(out);
  std::string text(buffer, size);
  free(buffer);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_NE(text.find("done"), std::string::npos) << text;
}

}  // namespace
}  // namespace migratekit::migctl
