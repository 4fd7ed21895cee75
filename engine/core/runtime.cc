#include "engine/core/runtime.h"

#include <malloc.h>
#include <sys/resource.h>

#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <new>

#include "engine/core/work_arena.h"
#include "transport/http/curl_transport.h"

namespace riptide::engine {
namespace {

// Hundreds of transfers each hold a temp file and a folder descriptor.
void RaiseFileLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Jobs that run at once (the service) each have an arena of WorkArena::Threads().
constexpr size_t kConcurrentArenas = 4;

}  // namespace

struct ProcessRuntime::Impl {
  // oneTBB's worker threads end here, before exit() tears down the statics (OpenSSL's,
  // the loggers) under them; left to the library's own exit they outlive main.
  oneapi::tbb::task_scheduler_handle scheduler{oneapi::tbb::attach{}};
  oneapi::tbb::global_control threads{oneapi::tbb::global_control::max_allowed_parallelism,
                                      static_cast<size_t>(WorkArena::Threads()) * kConcurrentArenas};
  ~Impl() { oneapi::tbb::finalize(scheduler, std::nothrow); }
};

ProcessRuntime::ProcessRuntime() {
  // Part bodies (MiBs each) come and go all run long: a fixed mmap threshold hands each
  // back to the system when freed, instead of glibc raising the threshold and keeping
  // them in a fragmenting heap (peak RSS grew by half without this).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  http::GlobalInit();
  RaiseFileLimit();
  impl_ = std::make_unique<Impl>();
}

ProcessRuntime::~ProcessRuntime() = default;

JobHost ProcessRuntime::Host(CancelToken cancel, ProgressFn progress) const {
  JobHost host;
  host.transports = http::CurlTransportFactory();
  host.cancel = cancel;
  host.progress = std::move(progress);
  return host;
}

}  // namespace riptide::engine
