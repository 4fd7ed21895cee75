// Content digests, computed off the network thread: in the verify stage, or while an
// object is still arriving (StreamHasher, stream_hasher.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

namespace md5 {
struct Lane;
}

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
  void Update(const char* data, size_t size) { Update(data, size, nullptr); }
  /// With `lanes`, the whole-object MD5's blocks are added there instead of compressed
  /// now: compress them (md5::Compress) before `data` goes or the next Update.
  void Update(const char* data, size_t size, std::vector<md5::Lane>* lanes);
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

}  // namespace riptide::engine
