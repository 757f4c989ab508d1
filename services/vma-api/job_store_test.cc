#include "services/vma-api/job_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace migratekit::vma {
namespace {

JobRecord MakeRecord(const std::string& id) {
  JobRecord record;
  record.request.set_job_id(id);
  record.request.set_source_uri("nbd://127.0.0.1:1/src");
  record.job.set_job_id(id);
  record.job.set_phase(v1::JOB_PHASE_COPYING);
  return record;
}

std::string TempDir() {
  std::string pattern =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
      "/job_store.XXXXXX";
  return mkdtemp(pattern.data());
}

TEST(JobStore, KeepsJobsAndCheckpointsAcrossReopen) {
  std::string dir = TempDir() + "/state";
  {
    auto store = JobStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Insert(MakeRecord("a")).ok());
    JobRecord b = MakeRecord("b");
    ASSERT_TRUE((*store)->Insert(b).ok());
    b.checkpoint = {.offset = 1 << 30, .copied = 5, .zeroed = 7};
    b.job.set_phase(v1::JOB_PHASE_CANCELLED);
    ASSERT_TRUE((*store)->Update(b).ok());
  }

  auto store = JobStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto records = (*store)->LoadAll();
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].job.job_id(), "a");
  EXPECT_EQ((*records)[1].job.phase(), v1::JOB_PHASE_CANCELLED);
  EXPECT_EQ((*records)[1].checkpoint.offset, uint64_t{1} << 30);
  EXPECT_EQ((*records)[1].checkpoint.zeroed, 7u);
  EXPECT_EQ((*records)[1].request.source_uri(), "nbd://127.0.0.1:1/src");
}

TEST(JobStore, ADuplicateIdIsAlreadyExists) {
  auto store = JobStore::Open("");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Insert(MakeRecord("a")).ok());
  absl::Status again = (*store)->Insert(MakeRecord("a"));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("job a"), std::string::npos);
}

TEST(JobStore, AnUnusableDirectoryIsReported) {
  auto store = JobStore::Open("/proc/no/such/dir");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace migratekit::vma
