// One `riptide sync s3://… DIR` run, start to end.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/stats.h"
#include "engine/sync_options.h"
#include "transport/result.h"

namespace riptide::engine {

struct SyncReport {
  uint64_t listed = 0, transferred = 0, skipped = 0, failed = 0, refused = 0, gone = 0;
  uint64_t size_verified_only = 0, retries = 0, bytes = 0, bytes_resumed = 0;
  uint64_t drifted = 0, deleted = 0, excluded = 0;
  uint64_t requests = 0;  // HTTP requests sent, retries included
  bool dry_run = false;
  bool to_bucket = false;  // a copy into a bucket: `gone` counts destination objects the source lacks
  uint64_t would_transfer = 0, would_transfer_bytes = 0, would_delete = 0;  // --dry-run
  uint64_t would_transfer_new = 0;  // of would_transfer, keys the dataset never had
  double seconds = 0;
  std::vector<ObjectFailure> failures;
  std::optional<Error> fatal;  // the run stopped early (listing failed, disk full, …)
  bool interrupted = false;
};

/// The counters every run reports, from its stats: objects, bytes, retries, failures
/// and (for a dry run) what would be transferred.
void FillFromStats(SyncReport& report, const Stats& stats);

/// Called about twice a second while the run goes on (for a progress line).
using ProgressFn = std::function<void(const Stats&, double seconds)>;

/// Mirrors the bucket prefix into the dataset. An error return means nothing was
/// attempted (bad configuration, credentials, bucket, lock): exit 2. Object failures and
/// early stops are in the report.
Result<SyncReport> RunSync(const SyncOptions& options, std::atomic<bool>& stop,
                           const ProgressFn& progress = nullptr);

}  // namespace riptide::engine
