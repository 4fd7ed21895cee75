// spdlog set-up for the CLI: text or JSON lines on stderr.
#pragma once

#include <string>

namespace riptide::app {

/// verbosity: 0 warnings, 1 info (-v), 2 debug (-vv). format: "text" or "json".
void SetUpLogging(int verbosity, const std::string& format);

}  // namespace riptide::app
