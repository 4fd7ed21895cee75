// `riptide cp s3://BUCKET/KEY FILE` and `riptide cp s3://BUCKET/PREFIX/ DIR`: downloads as
// `aws s3 cp` makes them. Every object named is fetched (no diff), verified like a sync's,
// and renamed into place whole; no manifest or state is left beside the files.
#pragma once

#include "apps/sync_command.h"
#include "engine/config/job_spec.h"
#include "transport/s3/config.h"

namespace riptide::app {

/// Runs the download `spec` names (its source a bucket, its destination a local path).
int RunCpDownload(engine::JobSpec spec, const s3::ConfigSources& sources, bool no_progress,
                  const GlobalOptions& global);

}  // namespace riptide::app
