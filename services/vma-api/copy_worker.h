// One connection pair of a copy: a source and a target NBD handle driven by
// libnbd's asynchronous API from one thread, with up to
// `requests_in_flight` commands outstanding.
//
// The worker claims a segment, asks the source's block status for it
// (asynchronously, while earlier requests are still in flight), turns the
// answer into requests, and for each data request reads the source into a
// buffer of its own and writes it to the target; zero runs go straight to
// the target as NBD zeroes. A segment counts as done once every one of its
// requests has been acknowledged; it counts for a checkpoint only after the
// target connection was flushed (see CopyEngine).
//
// Memory: requests_in_flight buffers of request_size bytes, whatever the
// disk size.
#ifndef MIGRATEKIT_SERVICES_VMA_API_COPY_WORKER_H_
#define MIGRATEKIT_SERVICES_VMA_API_COPY_WORKER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/vma-api/copy_state.h"
#include "services/vma-api/extent_plan.h"
#include "services/vma-api/nbd_connection.h"

namespace migratekit::vma {

struct CopyTuning {
  int requests_in_flight = 16;
  uint64_t request_size = 2 << 20;
  uint64_t zero_request_max = 32 << 20;
  uint64_t segment_size = 16 << 20;
  // Reads of one request tried this often before the copy fails.
  int source_read_attempts = 4;
  // The target is known to read as zero (a fresh volume): zero runs are
  // counted, not written.
  bool target_reads_as_zero = false;
};

class CopyWorker {
 public:
  CopyWorker(NbdHandle source, NbdHandle target, const CopyTuning& tuning,
             CopyState* state);
  ~CopyWorker();

  // Runs until the state asks to stop and nothing is in flight, or until
  // an error, which it reports to the state.
  void Run();

  // The highest flush generation this worker has completed.
  uint64_t flushed_generation() const { return flushed_generation_.load(); }

  // For the final flush, after Run() has returned.
  nbd_handle* target() { return target_.get(); }

 private:
  struct Slot;
  struct SegmentProgress {
    size_t outstanding = 0;
    uint64_t copied = 0;
    uint64_t zeroed = 0;
  };
  struct QueuedRequest {
    Request request;
    size_t segment;
  };

  static int OnSlotDone(void* slot, int* error);
  static int OnExtents(void* worker, const char* context, uint64_t offset,
                       uint32_t* entries, size_t count, int* error);
  static int OnStatusDone(void* worker, int* error);
  static int OnFlushDone(void* worker, int* error);

  absl::Status Step();
  absl::Status PlanNextSegment();
  absl::Status IssueStatusQuery();
  absl::Status FinishStatusQuery();
  void QueueSegment(size_t segment, const std::vector<Extent>& extents);
  absl::Status IssueQueued();
  absl::Status Issue(Slot& slot);
  absl::Status IssueWrite(Slot& slot);
  absl::Status IssueFlushIfAsked();
  absl::Status FinishFlush();
  absl::Status Poll();
  absl::Status HandleCompletions();
  absl::Status HandleRead(Slot& slot);
  absl::Status HandleWritten(Slot& slot);
  absl::Status HandleError(nbd_handle* handle, const std::string& what);
  bool Busy() const;

  NbdHandle source_;
  NbdHandle target_;
  const CopyTuning tuning_;
  CopyState* const state_;

  bool source_has_status_ = false;
  bool target_can_zero_ = false;
  bool target_fast_zero_ = false;
  bool target_can_flush_ = false;
  bool no_more_segments_ = false;

  std::vector<std::unique_ptr<Slot>> slots_;
  // Written as data where the target cannot zero.
  std::unique_ptr<char[]> zeroes_;
  std::deque<QueuedRequest> queue_;
  std::map<size_t, SegmentProgress> segments_;

  // The block-status query in flight, if any.
  bool status_active_ = false;
  bool status_done_ = false;
  int status_error_ = 0;
  size_t status_segment_ = 0;
  Range status_query_;
  uint64_t status_covered_ = 0;
  std::vector<Extent> status_extents_;

  // The flush in flight, if any.
  bool flush_active_ = false;
  bool flush_done_ = false;
  int flush_error_ = 0;
  uint64_t flush_generation_ = 0;
  std::atomic<uint64_t> flushed_generation_{0};
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_COPY_WORKER_H_
