#include "services/exports/reload_coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"

namespace migratekit::exports {
namespace {

TEST(ReloadCoalescer, OneCallerOneReload) {
  int calls = 0;
  ReloadCoalescer coalescer([&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(coalescer.Reload().ok());
  EXPECT_TRUE(coalescer.Reload().ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(coalescer.reloads(), 2);
}

TEST(ReloadCoalescer, ManyConcurrentCallersShareFewReloads) {
  std::atomic<int> running{0};
  std::atomic<int> overlapped{0};
  std::atomic<int> started{0};
  ReloadCoalescer coalescer([&] {
    if (running.fetch_add(1) != 0) overlapped.fetch_add(1);
    started.fetch_add(1);
    absl::SleepFor(absl::Milliseconds(50));
    running.fetch_sub(1);
    return absl::OkStatus();
  });

  // Every caller records when it asked and checks that a reload began
  // after that.
  std::vector<std::thread> threads;
  std::atomic<int> unserved{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      int before = started.load();
      if (!coalescer.Reload().ok()) unserved.fetch_add(1);
      if (started.load() <= before) unserved.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(overlapped.load(), 0);
  EXPECT_EQ(unserved.load(), 0);
  EXPECT_LT(coalescer.reloads(), 10);
}

TEST(ReloadCoalescer, PassesTheReloadsError) {
  ReloadCoalescer coalescer(
      [] { return absl::UnavailableError("nbd-server is down"); });
  EXPECT_EQ(coalescer.Reload().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace migratekit::exports
