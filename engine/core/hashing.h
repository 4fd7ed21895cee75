// Content digests, computed off the network thread: in the verify stage, or while a
// large object is still arriving (StreamHasher).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

struct FileDigest {
  uint64_t size = 0;       // bytes hashed
  std::string md5;         // hex; empty unless asked for
  std::string xxh3;        // XXH3-128, hex (high 64 bits first)
  std::string parts_etag;  // "md5(md5(part 1)…md5(part N))-N", when part lengths were given
  std::string checksum;    // base64 of the additional checksum asked for, if any
};

/// Hashes a byte stream fed in order: XXH3-128 always, MD5 when asked, the MD5 of each
/// part when part lengths are given (consecutive, from offset 0), and an S3 additional
/// checksum ("CRC32C", "SHA256", …) when one is named.
class DigestState {
 public:
  DigestState(bool with_md5, std::vector<uint64_t> part_lengths, const std::string& checksum = {});
  ~DigestState();
  DigestState(const DigestState&) = delete;
  DigestState& operator=(const DigestState&) = delete;
  void Update(const char* data, size_t size);
  /// Hashes [from, to) of `fd`; returns the bytes read (less at end of file).
  Result<uint64_t> UpdateFromFile(int fd, uint64_t from, uint64_t to);
  FileDigest Finish();
  uint64_t size() const { return size_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t size_ = 0;
};

/// Reads `fd` from offset 0 to its end in one pass (see DigestState).
Result<FileDigest> DigestFile(int fd, bool with_md5, const std::vector<uint64_t>& part_lengths = {},
                              const std::string& checksum = {});

/// Hashes a file while its ranges are still being written: each completed range that
/// extends the contiguous prefix is hashed by a background task (from the page cache),
/// so verification of a large object costs only its tail once the last byte lands.
class StreamHasher : public std::enable_shared_from_this<StreamHasher> {
 public:
  /// `fd` is dup'ed; `schedule` runs a task off the network thread (the graph's arena).
  StreamHasher(int fd, bool with_md5, std::vector<uint64_t> part_lengths, const std::string& checksum,
               std::function<void(std::function<void()>)> schedule);
  /// The additional checksum this hasher computes ("" for none).
  const std::string& checksum() const { return checksum_; }
  ~StreamHasher();
  /// [offset, offset + length) is on disk. Any thread; never blocks on hashing.
  void RangeDone(uint64_t offset, uint64_t length);
  /// Stops background work and hashes whatever is left from the file itself.
  Result<FileDigest> Finish();

 private:
  void Work();
  int fd_;
  std::string checksum_;
  std::function<void(std::function<void()>)> schedule_;
  std::mutex mu_;
  std::condition_variable cv_;
  DigestState state_;                        // touched only by whoever holds `running_`
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;  // done, not yet contiguous (guarded)
  uint64_t contiguous_ = 0;                  // guarded: bytes from 0 known on disk
  uint64_t hashed_ = 0;                      // guarded: bytes from 0 fed to state_
  bool scheduled_ = false;                   // guarded: a Work task is queued or running
  bool running_ = false;                     // guarded: Work is hashing a chunk now
  bool finishing_ = false;                   // guarded: Finish took over
  std::optional<Error> error_;               // guarded
};

}  // namespace riptide::engine
