// What a `riptide sync` from a bucket into a directory needs to know.
#pragma once

#include <string>
#include <vector>

#include "engine/core/retry.h"
#include "planner/filter.h"
#include "planner/part_plan.h"
#include "transport/http/transport.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

struct SyncOptions {
  s3::ClientConfig client;
  std::string bucket;
  std::string prefix;            // as given; normalised to end in '/' when not empty
  std::string dataset_dir;
  std::string state_dir;         // default DATASET/.riptide
  std::string scratch_dir = "/tmp";  // where a dry run of a missing dataset plans ($TMPDIR)
  int concurrency = 64;          // requests in flight; also bounds objects and open files
  bool adaptive_concurrency = false;  // --concurrency auto: found while running, `concurrency` at most
  planner::PartPolicy parts;     // --part-size, --multipart-threshold
  int list_page_size = 1000;     // max-keys per ListObjectsV2 page (tests use small pages)
  int list_concurrency = 1;      // key ranges listed at once (RangeLister)
  int verify_threads = 0;        // 0: one per core
  bool delete_extraneous = false;  // --delete: remove local files whose keys left the bucket
  int64_t max_delete = -1;         // --max-delete: refuse (and delete nothing) above this; -1 none
  planner::KeyFilter filter;       // --include / --exclude, on keys relative to the prefix
  bool dry_run = false;            // --dry-run: plan and count, transfer and delete nothing
  std::string plan_dir;            // `riptide plan --out DIR`: new/modified/delete lists + plan.json
  std::vector<std::string> keys;   // --key: exactly these keys (HEAD, then GET), no listing
  // --shard: only keys in (range_after, range_last] ("" last: to the end) are listed,
  // planned, transferred and deleted; the shard keeps its own state directory.
  std::string range_after, range_last;
  std::string shard;  // "I-of-N" for a shard run ("" otherwise): it shares the dataset's lock
  std::string keys_file;           // --keys-file: the same, one key per line
  bool checksum = false;           // --checksum: re-hash local files instead of trusting size+mtime
  bool compare_last_modified = false;  // --newer: a newer LastModified also means changed
  RetryPolicy retry;
  http::TransportOptions transport;
};

}  // namespace riptide::engine
