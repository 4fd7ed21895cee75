// Content digests computed in the verify stage, never on the network thread.
#pragma once

#include <cstdint>
#include <string>

#include "transport/result.h"

namespace riptide::engine {

struct FileDigest {
  uint64_t size = 0;   // bytes read
  std::string md5;     // hex; empty unless asked for
  std::string xxh3;    // XXH3-128, hex (high 64 bits first)
};

/// Reads `fd` from offset 0 to its end in one pass, hashing with XXH3-128 and, when
/// `with_md5`, MD5.
Result<FileDigest> DigestFile(int fd, bool with_md5);

}  // namespace riptide::engine
