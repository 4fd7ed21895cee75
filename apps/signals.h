// SIGINT and SIGTERM ask a run to stop: in-flight work ends cleanly, exit 130 / 143.
#pragma once

#include <atomic>

namespace riptide::app {

/// Routes SIGINT and SIGTERM to StopFlag(); ignores SIGPIPE.
void InstallSignalHandlers();
/// Set once a stop was asked for.
std::atomic<bool>& StopFlag();
/// The signal that asked (0 for none).
int SignalNumber();

}  // namespace riptide::app
