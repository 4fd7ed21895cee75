// The service's own log lines (listening, runs started and ended): shown at the default
// verbosity, while the jobs' per-object lines keep the CLI's levels (-v shows them).
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace riptide::serve {

inline std::shared_ptr<spdlog::logger> ServeLog() {
  if (auto log = spdlog::get("serve")) return log;
  auto log = spdlog::default_logger()->clone("serve");
  log->set_level(std::min(spdlog::level::info, spdlog::default_logger()->level()));
  spdlog::register_logger(log);
  return log;
}

}  // namespace riptide::serve
