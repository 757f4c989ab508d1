// A fixed-capacity byte queue for one direction of one channel. Its
// storage never moves while bytes wait in it, which libssh2 1.10 needs: a
// write that returned EAGAIN must be retried with the same buffer.
#ifndef MIGRATEKIT_SERVICES_TUNNEL_BYTE_RING_H_
#define MIGRATEKIT_SERVICES_TUNNEL_BYTE_RING_H_

#include <cstddef>
#include <cstring>
#include <memory>

namespace migratekit::tunnel {

class ByteRing {
 public:
  explicit ByteRing(size_t capacity)
      : data_(new char[capacity]), capacity_(capacity) {}

  // The waiting bytes, oldest first, as one contiguous run.
  const char* front() const { return data_.get() + head_; }
  size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }

  // Where new bytes go, and how many fit there. When the free space at the
  // end is short, moves the waiting bytes to the start first, unless
  // `pinned` (a retried write still points into them).
  char* back(bool pinned) {
    if (!pinned && head_ > 0 && capacity_ - tail_ < capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + head_, size());
      tail_ -= head_;
      head_ = 0;
    }
    return data_.get() + tail_;
  }
  size_t room() const { return capacity_ - tail_; }

  void Appended(size_t n) { tail_ += n; }
  void Consumed(size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

}  // namespace migratekit::tunnel

#endif  // MIGRATEKIT_SERVICES_TUNNEL_BYTE_RING_H_
