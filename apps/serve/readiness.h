// /readyz: is the state database writable, and can each job reach its source and its
// destination? One cheap request per bucket (a listing of one key), a look at each local
// directory; results are reused for the config's ready_cache so probes stay cheap.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "apps/serve/serve_config.h"
#include "apps/serve/service_store.h"
#include "engine/core/runtime.h"

namespace riptide::serve {

struct Component {
  std::string name;  // "state", "JOB source", "JOB destination"
  bool ok = false;
  std::string detail;  // why not, in one line (never a secret)
};

class Readiness {
 public:
  Readiness(const ServeConfig& config, ServiceStore& store, const engine::ProcessRuntime& runtime,
            const s3::ConfigSources& sources)
      : config_(config), store_(store), runtime_(runtime), sources_(sources) {}

  /// Every component, the state database checked each time, the jobs' ends cached.
  std::vector<Component> Check();

 private:
  Component CheckEnd(const ServeJob& job, const std::string& what, const std::string& end, bool is_destination);

  const ServeConfig& config_;
  ServiceStore& store_;
  const engine::ProcessRuntime& runtime_;
  const s3::ConfigSources& sources_;
  std::mutex mu_;  // one probe at a time; guards the cache
  std::chrono::steady_clock::time_point checked_{};
  std::vector<Component> cached_;
};

}  // namespace riptide::serve
