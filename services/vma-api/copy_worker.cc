#include "services/vma-api/copy_worker.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace migratekit::vma {
namespace {

// How long a worker waits for its sockets before it looks at stop and
// flush requests again.
constexpr int kPollMillis = 50;

// NBD lengths are 32 bits; segments are far smaller anyway.
constexpr uint64_t kMaxStatusQuery = uint64_t{1} << 31;

void Observe(prometheus::Histogram* histogram, absl::Time started) {
  if (histogram != nullptr) {
    histogram->Observe(absl::ToDoubleSeconds(absl::Now() - started));
  }
}

}  // namespace

struct CopyWorker::Slot {
  enum class State { kFree, kReading, kRead, kWriting, kWritten };

  CopyWorker* worker = nullptr;
  State state = State::kFree;
  Request request;
  size_t segment = 0;
  int attempts = 0;
  int error = 0;
  bool fast_zero = false;
  absl::Time started;
  std::unique_ptr<char[]> buffer;
};

CopyWorker::CopyWorker(NbdHandle source, NbdHandle target,
                       const CopyTuning& tuning, CopyState* state)
    : source_(std::move(source)),
      target_(std::move(target)),
      tuning_(tuning),
      state_(state) {
  source_has_status_ =
      nbd_can_meta_context(source_.get(), LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
  target_can_zero_ = nbd_can_zero(target_.get()) == 1;
  target_fast_zero_ = nbd_can_fast_zero(target_.get()) == 1;
  target_can_flush_ = nbd_can_flush(target_.get()) == 1;
  if (!target_can_zero_) {
    zeroes_.reset(new char[tuning_.request_size]());
  }
  for (int i = 0; i < tuning_.requests_in_flight; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->worker = this;
    slot->buffer.reset(new char[tuning_.request_size]);
    slots_.push_back(std::move(slot));
  }
}

CopyWorker::~CopyWorker() = default;

void CopyWorker::Run() {
  while (true) {
    absl::Status status = Step();
    if (!status.ok()) {
      state_->Fail(std::move(status));
      return;
    }
    if (state_->stopping() && !Busy()) return;
  }
}

bool CopyWorker::Busy() const {
  if (status_active_ || flush_active_) return true;
  for (const auto& slot : slots_) {
    if (slot->state != Slot::State::kFree) return true;
  }
  return false;
}

absl::Status CopyWorker::Step() {
  if (!state_->stopping()) {
    if (absl::Status s = PlanNextSegment(); !s.ok()) return s;
    if (absl::Status s = IssueQueued(); !s.ok()) return s;
    if (absl::Status s = IssueFlushIfAsked(); !s.ok()) return s;
  }
  if (!Busy()) {
    // Nothing in flight: wait a little for new work or a stop.
    if (state_->stopping()) return absl::OkStatus();
    if (no_more_segments_ && queue_.empty()) {
      absl::SleepFor(absl::Milliseconds(kPollMillis));
      return absl::OkStatus();
    }
  }
  if (absl::Status s = Poll(); !s.ok()) return s;
  if (absl::Status s = HandleCompletions(); !s.ok()) return s;
  if (status_active_ && status_done_) {
    if (absl::Status s = FinishStatusQuery(); !s.ok()) return s;
  }
  if (flush_active_ && flush_done_) return FinishFlush();
  return absl::OkStatus();
}

// Keeps one segment planned ahead, so that the block-status round trip
// overlaps with the data of the segment before.
absl::Status CopyWorker::PlanNextSegment() {
  if (status_active_ || no_more_segments_) return absl::OkStatus();
  if (queue_.size() >= slots_.size()) return absl::OkStatus();

  std::optional<size_t> segment = state_->ClaimSegment();
  if (!segment.has_value()) {
    no_more_segments_ = true;
    return absl::OkStatus();
  }
  const Range& range = state_->segment(*segment);
  if (!source_has_status_) {
    QueueSegment(*segment, {{range.offset, range.length, false}});
    return absl::OkStatus();
  }
  status_active_ = true;
  status_segment_ = *segment;
  status_extents_.clear();
  status_query_ = {range.offset, 0};
  return IssueStatusQuery();
}

absl::Status CopyWorker::IssueStatusQuery() {
  const Range& range = state_->segment(status_segment_);
  uint64_t at = status_query_.end();
  status_query_ = {at, StatusQueryLength(range, at, kMaxStatusQuery)};
  status_done_ = false;
  status_error_ = 0;
  status_covered_ = 0;
  nbd_extent_callback extents = {.callback = OnExtents, .user_data = this};
  nbd_completion_callback done = {.callback = OnStatusDone, .user_data = this};
  if (nbd_aio_block_status(source_.get(), status_query_.length,
                           status_query_.offset, extents, done, 0) == -1) {
    return HandleError(
        source_.get(),
        absl::StrCat("source: block status at offset ", status_query_.offset));
  }
  return absl::OkStatus();
}

int CopyWorker::OnExtents(void* data, const char* context, uint64_t offset,
                          uint32_t* entries, size_t count, int* error) {
  auto* worker = static_cast<CopyWorker*>(data);
  if (std::strcmp(context, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0) return 0;
  if (offset != worker->status_query_.offset) return 0;
  worker->status_covered_ = AppendStatusEntries(
      worker->status_query_, entries, count / 2, &worker->status_extents_);
  return 0;
}

int CopyWorker::OnStatusDone(void* data, int* error) {
  auto* worker = static_cast<CopyWorker*>(data);
  worker->status_done_ = true;
  worker->status_error_ = *error;
  return 1;
}

// A reply may cover less than was asked: ask again from where it stopped
// until the segment is covered. A failed or empty answer makes the rest of
// the query data, which is always correct, only slower.
absl::Status CopyWorker::FinishStatusQuery() {
  if (status_error_ != 0 && nbd_aio_is_dead(source_.get())) {
    return HandleError(source_.get(), "source: block status");
  }
  if (status_error_ != 0 || status_covered_ == 0) {
    spdlog::debug("copy: block status failed at offset={}; reading as data",
                  status_query_.offset);
    uint64_t at = status_query_.offset + status_covered_;
    status_extents_.push_back({at, status_query_.end() - at, false});
    status_covered_ = status_query_.length;
  }
  status_query_.length = status_covered_;
  if (state_->stopping()) {
    status_active_ = false;
    return absl::OkStatus();
  }

  const Range& range = state_->segment(status_segment_);
  if (status_query_.end() < range.end()) return IssueStatusQuery();
  status_active_ = false;
  QueueSegment(status_segment_, status_extents_);
  return absl::OkStatus();
}

void CopyWorker::QueueSegment(size_t segment,
                              const std::vector<Extent>& extents) {
  uint64_t zero_max =
      target_can_zero_ ? tuning_.zero_request_max : tuning_.request_size;
  std::vector<Request> requests =
      SplitIntoRequests(extents, tuning_.request_size, zero_max);
  SegmentProgress& progress = segments_[segment];
  for (const Request& request : requests) {
    if (request.kind == Request::Kind::kZero && tuning_.target_reads_as_zero) {
      progress.zeroed += request.length;
      state_->AddSkippedZeroes(request.length);
      continue;
    }
    ++progress.outstanding;
    queue_.push_back({request, segment});
  }
  if (progress.outstanding == 0) {
    state_->SegmentDone(segment, progress.copied, progress.zeroed);
    segments_.erase(segment);
  }
}

absl::Status CopyWorker::IssueQueued() {
  for (auto& slot : slots_) {
    if (queue_.empty()) break;
    if (slot->state != Slot::State::kFree) continue;
    slot->request = queue_.front().request;
    slot->segment = queue_.front().segment;
    slot->attempts = 0;
    slot->fast_zero = target_fast_zero_;
    queue_.pop_front();
    if (absl::Status s = Issue(*slot); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CopyWorker::Issue(Slot& slot) {
  slot.error = 0;
  slot.started = absl::Now();
  const Request& request = slot.request;
  nbd_completion_callback done = {.callback = OnSlotDone, .user_data = &slot};
  if (request.kind == Request::Kind::kData) {
    slot.state = Slot::State::kReading;
    ++slot.attempts;
    if (nbd_aio_pread(source_.get(), slot.buffer.get(), request.length,
                      request.offset, done, 0) == -1) {
      return HandleError(source_.get(), absl::StrCat("source: read at offset ",
                                                     request.offset));
    }
    return absl::OkStatus();
  }

  slot.state = Slot::State::kWriting;
  int64_t cookie;
  if (target_can_zero_) {
    uint32_t flags = slot.fast_zero ? LIBNBD_CMD_FLAG_FAST_ZERO : 0;
    cookie = nbd_aio_zero(target_.get(), request.length, request.offset, done,
                          flags);
  } else {
    cookie = nbd_aio_pwrite(target_.get(), zeroes_.get(), request.length,
                            request.offset, done, 0);
  }
  if (cookie == -1) {
    return HandleError(target_.get(),
                       absl::StrCat("target: zero at offset ", request.offset));
  }
  return absl::OkStatus();
}

absl::Status CopyWorker::IssueWrite(Slot& slot) {
  slot.state = Slot::State::kWriting;
  slot.error = 0;
  slot.started = absl::Now();
  nbd_completion_callback done = {.callback = OnSlotDone, .user_data = &slot};
  if (nbd_aio_pwrite(target_.get(), slot.buffer.get(), slot.request.length,
                     slot.request.offset, done, 0) == -1) {
    return HandleError(target_.get(), absl::StrCat("target: write at offset ",
                                                   slot.request.offset));
  }
  return absl::OkStatus();
}

int CopyWorker::OnSlotDone(void* data, int* error) {
  auto* slot = static_cast<Slot*>(data);
  slot->error = *error;
  slot->state = slot->state == Slot::State::kReading ? Slot::State::kRead
                                                     : Slot::State::kWritten;
  return 1;
}

absl::Status CopyWorker::Poll() {
  nbd_handle* handles[2] = {source_.get(), target_.get()};
  const char* names[2] = {"source", "target"};
  pollfd fds[2];
  for (int i = 0; i < 2; ++i) {
    fds[i].fd = nbd_aio_get_fd(handles[i]);
    if (fds[i].fd == -1) {
      return HandleError(handles[i], absl::StrCat(names[i], ": connection"));
    }
    unsigned direction = nbd_aio_get_direction(handles[i]);
    fds[i].events = 0;
    if (direction & LIBNBD_AIO_DIRECTION_READ) fds[i].events |= POLLIN;
    if (direction & LIBNBD_AIO_DIRECTION_WRITE) fds[i].events |= POLLOUT;
    fds[i].revents = 0;
  }

  if (poll(fds, 2, kPollMillis) == -1 && errno != EINTR) {
    return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
  }

  for (int i = 0; i < 2; ++i) {
    int result = 0;
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      result = nbd_aio_notify_read(handles[i]);
    } else if (fds[i].revents & POLLOUT) {
      result = nbd_aio_notify_write(handles[i]);
    }
    if (result == -1) {
      return HandleError(handles[i], absl::StrCat(names[i], ": connection"));
    }
  }
  return absl::OkStatus();
}

absl::Status CopyWorker::HandleCompletions() {
  for (auto& slot : slots_) {
    absl::Status status;
    if (slot->state == Slot::State::kRead) {
      status = HandleRead(*slot);
    } else if (slot->state == Slot::State::kWritten) {
      status = HandleWritten(*slot);
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CopyWorker::HandleRead(Slot& slot) {
  const Request& request = slot.request;
  if (slot.error == 0) {
    Observe(state_->metrics().read_seconds, slot.started);
    if (state_->stopping()) {
      slot.state = Slot::State::kFree;  // stopping: nothing new goes out
      return absl::OkStatus();
    }
    return IssueWrite(slot);
  }

  if (nbd_aio_is_dead(source_.get())) {
    return HandleError(source_.get(), "source: connection");
  }
  if (slot.attempts < tuning_.source_read_attempts) {
    spdlog::debug("copy: source read failed offset={} attempt={} error={}",
                  request.offset, slot.attempts, std::strerror(slot.error));
    return Issue(slot);
  }
  return absl::DataLossError(
      absl::StrCat("source read failed at offset ", request.offset, " length ",
                   request.length, " after ", slot.attempts,
                   " attempts: ", std::strerror(slot.error)));
}

absl::Status CopyWorker::HandleWritten(Slot& slot) {
  const Request& request = slot.request;
  bool zero = request.kind == Request::Kind::kZero;
  if (slot.error != 0) {
    if (nbd_aio_is_dead(target_.get())) {
      return HandleError(target_.get(), "target: connection");
    }
    if (zero && slot.fast_zero &&
        (slot.error == ENOTSUP || slot.error == EOPNOTSUPP)) {
      // Fast zero is only a hint that zeroing is cheap; without it the
      // server may write zeroes the slow way, which is still right.
      target_fast_zero_ = false;
      slot.fast_zero = false;
      return Issue(slot);
    }
    return NbdCommandError(
        absl::StrCat("target: ", zero ? "zero" : "write", " at offset ",
                     request.offset, " length ", request.length),
        slot.error);
  }

  Observe(
      zero ? state_->metrics().zero_seconds : state_->metrics().write_seconds,
      slot.started);
  state_->AddWritten(request.kind, request.length);
  SegmentProgress& progress = segments_[slot.segment];
  (zero ? progress.zeroed : progress.copied) += request.length;
  slot.state = Slot::State::kFree;
  if (--progress.outstanding == 0) {
    state_->SegmentDone(slot.segment, progress.copied, progress.zeroed);
    segments_.erase(slot.segment);
  }
  return absl::OkStatus();
}

absl::Status CopyWorker::IssueFlushIfAsked() {
  uint64_t asked = state_->flush_requested();
  if (flush_active_ || asked <= flushed_generation_.load()) {
    return absl::OkStatus();
  }
  if (!target_can_flush_) {
    flushed_generation_.store(asked);
    return absl::OkStatus();
  }
  flush_active_ = true;
  flush_done_ = false;
  flush_error_ = 0;
  flush_generation_ = asked;
  nbd_completion_callback done = {.callback = OnFlushDone, .user_data = this};
  if (nbd_aio_flush(target_.get(), done, 0) == -1) {
    return HandleError(target_.get(), "target: flush");
  }
  return absl::OkStatus();
}

int CopyWorker::OnFlushDone(void* data, int* error) {
  auto* worker = static_cast<CopyWorker*>(data);
  worker->flush_done_ = true;
  worker->flush_error_ = *error;
  return 1;
}

absl::Status CopyWorker::FinishFlush() {
  flush_active_ = false;
  if (flush_error_ != 0) {
    if (nbd_aio_is_dead(target_.get())) {
      return HandleError(target_.get(), "target: connection");
    }
    return NbdCommandError("target: flush", flush_error_);
  }
  flushed_generation_.store(flush_generation_);
  return absl::OkStatus();
}

// A connection that died is UNAVAILABLE whatever errno libnbd kept: the
// job retries it from its checkpoint.
absl::Status CopyWorker::HandleError(nbd_handle* handle,
                                     const std::string& what) {
  absl::Status status = NbdError(what);
  if (nbd_aio_is_dead(handle) == 1 || nbd_aio_is_closed(handle) == 1) {
    return absl::UnavailableError(
        absl::StrCat(status.message(), " (connection lost)"));
  }
  return status;
}

}  // namespace migratekit::vma
