// What a copy into a bucket needs to know: `riptide sync|cp|plan` with a bucket as DST,
// from another bucket (same endpoint: server-side; otherwise streamed) or a local directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/client_spec.h"
#include "engine/core/retry.h"
#include "planner/filter.h"
#include "transport/http/transport.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// An entry named on the command line, copied as it is (cp of one object or file).
struct NamedEntry {
  std::string source_key;   // bucket sources: the object's key
  std::string source_path;  // local sources: the file
  std::string rel;          // its key below the destination's prefix
};

struct CopyOptions {
  enum class Method { kAuto, kServerSide, kStreamed };

  std::optional<BucketSide> source;  // a bucket, or else ...
  std::string source_dir;            // ... a local directory (an upload)
  std::optional<NamedEntry> single;  // cp of one object or file, no listing
  std::vector<std::string> keys;     // whole source keys below its prefix (event runs): HEADed, no listing
  BucketSide destination;

  Method method = Method::kAuto;     // kAuto: server-side when one endpoint and one set of credentials
  bool compare = true;               // false (cp): copy every source object, no destination listing
  bool checksum = false;             // --checksum: copy again when content cannot be proven equal
  bool delete_extraneous = false;    // --delete: remove destination objects the source lacks
  int64_t max_delete = -1;
  planner::KeyFilter filter;         // on keys relative to the prefixes
  bool dry_run = false;
  std::string plan_dir;              // `riptide plan --out`
  std::string state_dir;             // where the journal of open uploads lives ("" for none)

  int concurrency = 64;                          // requests in flight
  bool adaptive_concurrency = false;             // --concurrency auto: found while running, at most the above
  uint64_t memory_limit = 64ull << 20;           // part bodies held at once (streamed copies, uploads)
  uint64_t part_size = 16ull << 20;              // upload parts (raised to S3's limits per object)
  uint64_t multipart_threshold = 16ull << 20;    // streamed copies and uploads above this go in parts
  uint64_t copy_threshold = 5ull << 30;          // server-side: CopyObject up to this, UploadPartCopy above
  int list_page_size = 1000;
  int list_concurrency = 1;  // key ranges listed at once, per listing
  RetryPolicy retry;
};

}  // namespace riptide::engine
