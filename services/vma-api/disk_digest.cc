#include "services/vma-api/disk_digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <deque>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/vma-api/nbd_connection.h"

namespace migratekit::vma {
namespace {

constexpr int kReadsInFlight = 8;

struct DigestContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  DigestContext() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
  void Update(const char* data, size_t size) {
    EVP_DigestUpdate(ctx, data, size);
  }
  std::array<unsigned char, 32> Finish() {
    std::array<unsigned char, 32> out;
    EVP_DigestFinal_ex(ctx, out.data(), nullptr);
    return out;
  }
};

struct PendingRead {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::unique_ptr<char[]> buffer;
  bool done = false;
  int error = 0;
};

int OnReadDone(void* data, int* error) {
  auto* read = static_cast<PendingRead*>(data);
  read->done = true;
  read->error = *error;
  return 1;
}

}  // namespace

absl::StatusOr<DiskDigest> DigestDisk(const std::string& uri,
                                      absl::string_view role,
                                      uint64_t chunk_size, uint64_t limit,
                                      const std::atomic<bool>* cancel) {
  absl::StatusOr<NbdHandle> handle = ConnectNbd(uri, role, false);
  if (!handle.ok()) return handle.status();
  nbd_handle* h = handle->get();
  int64_t size = nbd_get_size(h);
  if (size == -1) return NbdError(absl::StrCat(role, ": size"));

  DiskDigest digest;
  digest.size = size;
  if (limit != 0 && limit < digest.size) digest.size = limit;
  digest.chunk_size = chunk_size;
  DigestContext whole;
  std::deque<std::unique_ptr<PendingRead>> reads;
  uint64_t next = 0;

  while (next < digest.size || !reads.empty()) {
    if (cancel != nullptr && cancel->load()) {
      return absl::CancelledError(absl::StrCat(role, ": digest cancelled"));
    }
    while (reads.size() < kReadsInFlight && next < digest.size) {
      auto read = std::make_unique<PendingRead>();
      read->offset = next;
      read->length = std::min(chunk_size, digest.size - next);
      read->buffer.reset(new char[read->length]);
      nbd_completion_callback done = {.callback = OnReadDone,
                                      .user_data = read.get()};
      if (nbd_aio_pread(h, read->buffer.get(), read->length, read->offset, done,
                        0) == -1) {
        return NbdError(absl::StrCat(role, ": read at offset ", next));
      }
      next += read->length;
      reads.push_back(std::move(read));
    }

    if (!reads.front()->done && nbd_poll(h, 100) == -1) {
      return NbdError(absl::StrCat(role, ": read"));
    }
    while (!reads.empty() && reads.front()->done) {
      PendingRead& read = *reads.front();
      if (read.error != 0) {
        return NbdCommandError(
            absl::StrCat(role, ": read at offset ", read.offset), read.error);
      }
      whole.Update(read.buffer.get(), read.length);
      DigestContext chunk;
      chunk.Update(read.buffer.get(), read.length);
      digest.chunks.push_back(chunk.Finish());
      reads.pop_front();
    }
  }

  std::array<unsigned char, 32> sum = whole.Finish();
  digest.hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(sum.data()), sum.size()));
  return digest;
}

std::optional<Range> FirstDifference(const DiskDigest& a, const DiskDigest& b) {
  size_t common = std::min(a.chunks.size(), b.chunks.size());
  for (size_t i = 0; i < common; ++i) {
    if (a.chunks[i] != b.chunks[i]) {
      uint64_t offset = i * a.chunk_size;
      uint64_t end = std::min({offset + a.chunk_size, a.size, b.size});
      return Range{offset, end - offset};
    }
  }
  if (a.size == b.size) return std::nullopt;
  uint64_t offset = std::min(a.size, b.size);
  return Range{offset, std::max(a.size, b.size) - offset};
}

}  // namespace migratekit::vma
