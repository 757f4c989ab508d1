#include "services/vma-api/copy_engine.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/vma-api/nbd_connection.h"

namespace migratekit::vma {
namespace {

constexpr absl::Duration kCoordinatorTick = absl::Milliseconds(20);

}  // namespace

CopyEngine::CopyEngine(CopyOptions options) : options_(std::move(options)) {
  std::vector<Range> segments =
      CutIntoSegments(TrimWork(options_.work, options_.start.offset),
                      options_.tuning.segment_size);
  state_ = std::make_unique<CopyState>(std::move(segments), options_.start,
                                       options_.metrics);
}

CopyProgress CopyEngine::Progress() const {
  return {state_->copied(), state_->zeroed()};
}

bool CopyEngine::Cancelled() const {
  return options_.cancel != nullptr && options_.cancel->load();
}

absl::Status CopyEngine::Run() {
  if (absl::Status status = Connect(); !status.ok()) return status;

  std::vector<std::thread> threads;
  for (auto& worker : workers_) {
    threads.emplace_back([&worker] { worker->Run(); });
  }
  Coordinate();
  for (std::thread& thread : threads) thread.join();

  if (absl::Status error = state_->error(); !error.ok()) return error;

  // A cancelled copy ends at its last committed checkpoint, which is already
  // durable: flushing for a newer one would make the cancel wait for the
  // target's disk, seconds on a busy host, to save a few seconds of copying.
  if (!state_->CurrentCheckpoint().complete) {
    return absl::CancelledError(absl::StrCat(
        "cancelled at offset ", state_->CurrentCheckpoint().offset));
  }
  return FinalCheckpoint();
}

// Every connection is opened and checked before anything is written, so a
// target that is too small or refuses a connection costs nothing.
absl::Status CopyEngine::Connect() {
  for (int i = 0; i < options_.connections; ++i) {
    absl::StatusOr<NbdHandle> source =
        ConnectNbd(options_.source_uri, "source", true);
    if (!source.ok()) return source.status();
    absl::StatusOr<NbdHandle> target =
        ConnectNbd(options_.target_uri, "target", false);
    if (!target.ok()) return target.status();

    int64_t source_size = nbd_get_size(source->get());
    int64_t target_size = nbd_get_size(target->get());
    if (source_size == -1 || target_size == -1) return NbdError("size");
    if (target_size < source_size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "target ", options_.target_uri, " is smaller than the source: ",
          target_size, " bytes < ", source_size, " bytes; nothing written"));
    }
    if (nbd_is_read_only(target->get()) == 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("target ", options_.target_uri, " is read-only"));
    }
    if (i == 0 && nbd_can_flush(target->get()) != 1) {
      spdlog::warn(
          "copy: target {} cannot flush; checkpoints count what it "
          "acknowledged, which a crash of its host may still lose",
          Quoted(options_.target_uri));
    }
    workers_.push_back(std::make_unique<CopyWorker>(
        std::move(*source), std::move(*target), options_.tuning, state_.get()));
  }
  return absl::OkStatus();
}

// Runs until the copy is complete, cancelled or failed, making a checkpoint
// durable every checkpoint_interval: it notes the checkpoint, asks every
// worker to flush, and commits the noted checkpoint once all have.
void CopyEngine::Coordinate() {
  absl::Time last = absl::Now();
  uint64_t generation = 0;
  Checkpoint noted;
  uint64_t committed = options_.start.offset;

  while (state_->error().ok() && !Cancelled() &&
         !state_->CurrentCheckpoint().complete) {
    absl::SleepFor(kCoordinatorTick);
    if (generation == 0) {
      if (absl::Now() - last < options_.checkpoint_interval) continue;
      noted = state_->CurrentCheckpoint();
      generation = state_->RequestFlush();
      continue;
    }

    bool all_flushed = true;
    for (auto& worker : workers_) {
      all_flushed = all_flushed && worker->flushed_generation() >= generation;
    }
    if (!all_flushed) continue;
    generation = 0;
    last = absl::Now();
    if (noted.offset == committed || !options_.on_checkpoint) continue;
    if (absl::Status s = options_.on_checkpoint(noted); !s.ok()) {
      state_->Fail(std::move(s));
    }
    committed = noted.offset;
  }
  state_->Stop();
}

absl::Status CopyEngine::FinalCheckpoint() {
  for (auto& worker : workers_) {
    if (nbd_can_flush(worker->target()) == 1 &&
        nbd_flush(worker->target(), 0) == -1) {
      return NbdError("target: flush");
    }
  }
  if (!options_.on_checkpoint) return absl::OkStatus();
  return options_.on_checkpoint(state_->CurrentCheckpoint());
}

}  // namespace migratekit::vma
