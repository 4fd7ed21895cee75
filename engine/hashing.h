// Content digests computed in the verify stage, never on the network thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

struct FileDigest {
  uint64_t size = 0;       // bytes read
  std::string md5;         // hex; empty unless asked for
  std::string xxh3;        // XXH3-128, hex (high 64 bits first)
  std::string parts_etag;  // "md5(md5(part 1)…md5(part N))-N", when part lengths were given
};

/// Reads `fd` from offset 0 to its end in one pass, hashing with XXH3-128 and, when
/// `with_md5`, MD5. With `part_lengths` (consecutive, from offset 0), also the
/// multipart ETag S3 computes from the parts' MD5s.
Result<FileDigest> DigestFile(int fd, bool with_md5, const std::vector<uint64_t>& part_lengths = {});

}  // namespace riptide::engine
