#include "apps/run_job.h"

#include <unistd.h>

#include <variant>

#include "apps/signals.h"
#include "apps/summary.h"
#include "engine/copy/copy_job.h"
#include "engine/download/sync_job.h"

namespace riptide::app {

Result<engine::SyncReport> RunResolved(const engine::JobOptions& options, const engine::JobHost& host) {
  return std::visit(
      [&](const auto& o) -> Result<engine::SyncReport> {
        if constexpr (std::is_same_v<std::decay_t<decltype(o)>, engine::SyncOptions>) {
          return engine::RunSync(o, host);
        } else {
          return engine::RunCopy(o, host);
        }
      },
      options);
}

int RunJobCommand(const engine::JobSpec& spec, const s3::ConfigSources& sources, bool no_progress,
                  const GlobalOptions& global) {
  auto options = engine::ResolveJob(spec, sources, global.runtime->Host().transports);
  if (!options.ok()) {
    PrintFatal(options.error().message, global.json, 2);
    return 2;
  }
  InstallSignalHandlers();
  const bool show_progress = !no_progress && !global.json && ::isatty(STDERR_FILENO);
  const engine::JobHost host =
      global.runtime->Host(engine::CancelToken(&StopFlag()), show_progress ? engine::ProgressFn(PrintProgress) : nullptr);
  auto report = RunResolved(*options, host);
  if (show_progress) EndProgress();
  if (!report.ok()) {
    PrintFatal(report.error().ToString(), global.json, 2);
    return 2;
  }
  const int code = ExitCodeFor(*report, SignalNumber());
  PrintSummary(*report, global.json, code);
  return code;
}

}  // namespace riptide::app
