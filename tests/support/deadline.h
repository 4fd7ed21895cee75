// A call that must return within a deadline. A hang is a failure the test names at once,
// not a binary that sits until a timeout outside kills it: the call runs on a thread of
// its own, and when it is late the whole test binary exits non-zero (a stuck thread
// cannot be joined or cancelled).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <utility>

namespace riptide::testing {

template <typename F>
auto ReturnsWithin(std::chrono::seconds limit, const char* what, F&& call) {
  auto result = std::async(std::launch::async, std::forward<F>(call));
  if (result.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: %s did not return within %lld s\n", what,
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(1);
  }
  return result.get();
}

}  // namespace riptide::testing
