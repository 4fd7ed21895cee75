// One `riptide sync s3://… DIR` run, start to end.
#pragma once

#include "engine/core/job.h"
#include "engine/download/sync_options.h"
#include "transport/result.h"

namespace riptide::engine {

/// Mirrors the bucket prefix into the dataset. An error return means nothing was
/// attempted (bad configuration, credentials, bucket, lock): exit 2. Object failures and
/// early stops are in the report. Every run is recorded in the manifest's runs table.
Result<SyncReport> RunSync(const SyncOptions& options, const JobHost& host);

}  // namespace riptide::engine
