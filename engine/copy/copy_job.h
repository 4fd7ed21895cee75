// One copy into a bucket, start to end: `riptide sync|cp|plan SRC s3://…`.
//   list src ─┐
//             ├─ merge-join ─► plan ─► transfer ─► report      then: DeleteObjects
//   list dst ─┘  (key order)   budgets  (async)    counts      (--delete, batches of 1,000)
#pragma once

#include "engine/copy/copy_options.h"
#include "engine/core/job.h"

namespace riptide::engine {

/// An error return means nothing was attempted (a bucket that cannot be listed, bad
/// credentials, an unreadable directory): exit 2. Object failures are in the report.
Result<SyncReport> RunCopy(const CopyOptions& options, const JobHost& host);

}  // namespace riptide::engine
