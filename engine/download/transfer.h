// The messages that flow through the sync graph.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "engine/state/dataset.h"
#include "engine/core/stream_hasher.h"
#include "planner/part_plan.h"
#include "transport/result.h"
#include "transport/s3/object_info.h"

namespace riptide::engine {

/// Where one part's bytes landed. Touched only on the transport's thread while the
/// object is being fetched, then only by the verify stage.
struct PartState {
  planner::PartRequest request;
  bool probe = false;     // HEAD ?partNumber=1: learns the upload's part size, no body
  bool asks_checksum = false;  // with probe: a plain HEAD instead, for the object's full checksum
  bool skip = false;      // already on disk (resumed): not fetched again
  uint64_t offset = 0;    // where the bytes go
  uint64_t length = 0;    // bytes expected (a whole GET learns it from its headers)
  uint64_t received = 0;  // bytes written so far
};

/// One object on its way from the bucket to the dataset.
struct Transfer {
  s3::ObjectInfo object;   // from the listing; a whole GET's headers replace size/ETag/date
  std::string path;        // relative to the dataset directory
  bool folder = false;     // a folder marker ("dir/"): nothing to fetch
  int slots = 1;           // budget tokens held: requests this object may run at once
  int rounds = 0;          // whole-object fetches (a verify mismatch starts another)
  uint64_t upload_part_size = 0;  // first part of a multipart upload (from the probe), 0 unknown
  std::string checksum_algorithm;  // an S3 additional checksum the object carries ("CRC32C", …)
  std::string checksum_value;      // its base64 value (full-object checksums only)
  TempFile temp;           // created by the plan stage
  planner::PartPlan::Mode mode = planner::PartPlan::Mode::kWhole;
  std::vector<PartState> parts;
  std::optional<Error> error;  // set once the object has failed for good
  std::string verified_by;     // "md5", "md5-parts", "size", "folder", or a checksum ("crc64nvme", …)
  bool probe_unsupported = false;  // the server does not tell part sizes
  bool journaled = false;          // a ranged download the resume journal follows
  std::set<int> resumed_parts;     // part indexes already on disk from an earlier run
  std::shared_ptr<StreamHasher> hasher;  // hashes ranges as they land (ranged objects)
  std::optional<Result<FileDigest>> streamed;  // its digest, once the object has landed
  // Asked by verify, done by the fetch stage on the transport (never on a graph thread):
  bool refresh = false;  // replaced mid-download: HEAD it before the next round
  enum class PartSizes { kUnasked, kWanted, kAsked };
  PartSizes part_sizes = PartSizes::kUnasked;  // uneven upload parts: HEAD ?partNumber=i each
  std::vector<uint64_t> exact_part_lengths;    // what those HEADs said (empty: unknown)
  std::string xxh3;

  /// The object told a full-object checksum: that alone proves it, not MD5 (CRC64NVME and
  /// CRC32C run in hardware at 10-40 times MD5's speed).
  bool ProvedByChecksum() const { return !checksum_algorithm.empty(); }

  uint64_t BytesReceived() const {
    uint64_t n = 0;
    for (const auto& p : parts) n += p.received;
    return n;
  }
};
using TransferPtr = std::shared_ptr<Transfer>;

/// One listing page and whether it is the last.
using PagePtr = std::shared_ptr<s3::ListPage>;

}  // namespace riptide::engine
