// One copy into a bucket, start to end: `riptide sync|cp|plan SRC s3://…`.
//   list src ─┐
//             ├─ merge-join ─► plan ─► transfer ─► report      then: DeleteObjects
//   list dst ─┘  (key order)   budgets  (async)    counts      (--delete, batches of 1,000)
#pragma once

#include <atomic>

#include "engine/copy_options.h"
#include "engine/sync_job.h"

namespace riptide::engine {

/// An error return means nothing was attempted (a bucket that cannot be listed, bad
/// credentials, an unreadable directory): exit 2. Object failures are in the report.
Result<SyncReport> RunCopy(const CopyOptions& options, std::atomic<bool>& stop, const ProgressFn& progress = nullptr);

}  // namespace riptide::engine
