// Process-wide set-up, done once by main (or a test's main) before any job runs:
// libcurl's global state, the open-file limit, oneTBB's thread ceiling and the
// allocator's mmap threshold. Jobs never touch these; they get a JobHost.
#pragma once

#include <memory>

#include "engine/core/job.h"

namespace riptide::engine {

class ProcessRuntime {
 public:
  ProcessRuntime();
  ~ProcessRuntime();
  ProcessRuntime(const ProcessRuntime&) = delete;
  ProcessRuntime& operator=(const ProcessRuntime&) = delete;

  /// A host for one job: curl transports, the given cancel token and progress callback.
  JobHost Host(CancelToken cancel = {}, ProgressFn progress = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace riptide::engine
