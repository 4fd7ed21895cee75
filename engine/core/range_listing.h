// One prefix listed as many contiguous key ranges at once: a bucket of millions of keys
// costs a sequential paginator one round trip per 1,000 keys, and round trips to a far
// region are tens of milliseconds. Pages still come out in key order, so everything that
// merge-joins a listing works unchanged.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/listing.h"

namespace riptide::engine {

/// Lists `params.prefix` (after `params.start_after`, up to and including `last_key`
/// when set) with `concurrency` workers. The key space starts as one range; a worker
/// without a range splits the widest range still being listed at the middle of what it
/// has left (`planner::MidKey`) and lists the upper half, so a skewed bucket still lists
/// in parallel. Each range's pages go to a temp file as they come and are read back in
/// key order by `Next`; memory holds a page per worker, and workers wait while more
/// than `spool_limit` bytes are listed ahead of the reader (the range being read never
/// waits). No delimiter: a listing of folders is sequential (`PageReader`). A server
/// listing out of key order stops the splitting; each range is then listed to the
/// server's end and filtered, so every key still comes exactly once.
class RangeLister {
 public:
  RangeLister(ListTarget target, s3::ListParams params, int concurrency, std::string last_key = {},
              uint64_t spool_limit = uint64_t{256} << 20);
  /// Stops the workers; waits for the pages they have in flight.
  ~RangeLister();
  RangeLister(const RangeLister&) = delete;
  RangeLister& operator=(const RangeLister&) = delete;

  /// Lists the first page here (an error: the prefix cannot be listed), then starts the
  /// workers.
  Status Start();
  /// The next page in key order, each marked truncated but the last (the last range's
  /// last page, or an empty one when that was handed out before its range was done);
  /// nullptr after it or once the target's stop flag is set; an error is a range whose
  /// listing failed after its retries.
  Result<std::shared_ptr<s3::ListPage>> Next();

 private:
  struct Range;
  using RangeList = std::list<std::unique_ptr<Range>>;
  void Work();
  // Under the lock: a range nobody lists yet, or one split off the widest range being
  // listed; nullptr when there is none now.
  Range* Claim();
  Range* Split();
  double KeysLeft(const Range& r) const;
  // After the first page: the rest of `first` cut at the prefix's folders.
  void SeedRanges(Range& first);
  void ListRange(Range& range);
  // Under the lock: takes the keys of `page` still inside `range` (whose end a split may
  // have moved) and serialises them; false once the range is finished.
  bool Keep(Range& range, s3::ListPage& page, std::string* record);
  bool MayRunAhead(const Range& range) const;
  void Fail(Range& range, Error e);

  ListTarget target_;
  s3::ListParams params_;
  int concurrency_;
  std::string last_key_;
  uint64_t spool_limit_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  RangeList ranges_;      // in key order; the front is the one `Next` reads
  uint64_t spooled_ = 0;  // bytes written and not yet read back
  bool stopping_ = false;
  std::optional<Error> first_error_;  // a range failed: every worker stops, Next returns it
  bool failed_ = false;               // ... once; then nothing more
  bool ended_ = false;       // the final page (untruncated) was handed out
  bool disordered_ = false;  // the server lists out of key order: no more splits
  std::vector<std::thread> workers_;
};

}  // namespace riptide::engine
