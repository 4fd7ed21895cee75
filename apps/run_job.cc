#include "apps/run_job.h"

#include <unistd.h>

#include <cstdio>
#include <variant>

#include <spdlog/spdlog.h>

#include "apps/format.h"
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
                  const GlobalOptions& global, const JobHooks& hooks) {
  auto options = engine::ResolveJob(spec, sources, global.runtime->Host().transports);
  if (!options.ok()) {
    PrintFatal(options.error().message, global.json, 2);
    return 2;
  }
  InstallSignalHandlers();
  const bool show_progress = !no_progress && !global.json && ::isatty(STDERR_FILENO);
  engine::JobHost host =
      global.runtime->Host(engine::CancelToken(&StopFlag()), show_progress ? engine::ProgressFn(PrintProgress) : nullptr);
  // -v: each object as it lands (or fails), from the stages' threads (spdlog is thread-safe).
  if (global.verbosity >= 1) {
    host.on_object = [](const engine::ObjectEvent& e) {
      if (e.ok) {
        spdlog::info("transferred {} ({})", Printable(e.key), HumanBytes(static_cast<double>(e.bytes)));
      } else {
        spdlog::info("failed {}: {}", Printable(e.key), e.reason);
      }
    };
  }
  // --dry-run: one line per object it would move or delete (the lists of `plan --out` go
  // to files instead, and --json has the counts).
  if (spec.dry_run && spec.plan_dir.empty() && !global.json) {
    host.on_planned = [show_progress, &hooks](const engine::PlannedAction& a) {
      if (show_progress) EndProgress();
      const std::string to = Printable(hooks.shown_path ? hooks.shown_path(a.to) : a.to);
      if (a.from.empty()) {
        std::printf("(dry run) %s %s\n", a.verb, to.c_str());
      } else {
        std::printf("(dry run) %s %s → %s\n", a.verb, Printable(a.from).c_str(), to.c_str());
      }
    };
  }
  auto report = RunResolved(*options, host);
  if (show_progress) EndProgress();
  if (!report.ok()) {
    PrintFatal(report.error().ToString(), global.json, 2);
    return 2;
  }
  if (hooks.after) hooks.after(*report);
  const int code = ExitCodeFor(*report, SignalNumber());
  PrintSummary(*report, global.json, code);
  return code;
}

}  // namespace riptide::app
