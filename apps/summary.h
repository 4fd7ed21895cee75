// What a finished sync prints: one human line (and failures) or one JSON document.
#pragma once

#include <string>

#include "engine/core/stats.h"
#include "engine/download/sync_job.h"

namespace riptide::app {

/// 0 everything in place, 1 some objects failed or the run stopped early,
/// 130/143 interrupted by SIGINT/SIGTERM.
int ExitCodeFor(const engine::SyncReport& report, int signal_number);

void PrintSummary(const engine::SyncReport& report, bool json, int exit_code);

/// "\r  listed 1234  done 56/78  56.7 MiB  12.3 MiB/s  failed 0" on stderr.
void PrintProgress(const engine::Stats& stats, double seconds);
void EndProgress();

/// One line on stderr, "riptide: …", for errors that stop a command before it starts.
void PrintFatal(const std::string& message, bool json, int exit_code);

}  // namespace riptide::app
