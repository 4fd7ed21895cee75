// Running a transfer job from the command line: resolve the spec (engine/config), run
// the download or the copy it names with signals and a progress line, print the summary.
#pragma once

#include <functional>
#include <string>

#include "apps/sync_command.h"
#include "engine/config/job_spec.h"

namespace riptide::app {

/// Runs resolved options on `host`: the download or the copy (or upload) they name.
Result<engine::SyncReport> RunResolved(const engine::JobOptions& options, const engine::JobHost& host);

/// What a command adds around the run (cp's downloads, which run into a staging folder).
struct JobHooks {
  /// After a run that could be attempted, before the summary: may add failures.
  std::function<void(engine::SyncReport&)> after;
  /// --dry-run's lines: the path a user will find, for the path the run plans.
  std::function<std::string(const std::string&)> shown_path;
};

/// The exit code: 0 all in place, 1 some objects failed, 2 nothing could be attempted,
/// 130/143 interrupted.
int RunJobCommand(const engine::JobSpec& spec, const s3::ConfigSources& sources, bool no_progress,
                  const GlobalOptions& global, const JobHooks& hooks = {});

}  // namespace riptide::app
