// Running a transfer job from the command line: resolve the spec (engine/config), run
// the download or the copy it names with signals and a progress line, print the summary.
#pragma once

#include "apps/sync_command.h"
#include "engine/config/job_spec.h"

namespace riptide::app {

/// Runs resolved options on `host`: the download or the copy (or upload) they name.
Result<engine::SyncReport> RunResolved(const engine::JobOptions& options, const engine::JobHost& host);

/// The exit code: 0 all in place, 1 some objects failed, 2 nothing could be attempted,
/// 130/143 interrupted.
int RunJobCommand(const engine::JobSpec& spec, const s3::ConfigSources& sources, bool no_progress,
                  const GlobalOptions& global);

}  // namespace riptide::app
