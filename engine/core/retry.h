// When and how long to wait before trying a failed request again.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <random>

#include "transport/result.h"

namespace riptide::engine {

struct RetryPolicy {
  int max_attempts = 6;                     // --retries + 1; includes the first try
  std::chrono::milliseconds base{100};      // first backoff ceiling
  std::chrono::milliseconds cap{20000};     // backoff ceiling never exceeds this
  /// Called when a server says the request's keys expired (ExpiredToken): the
  /// credentials provider fetches new ones and returns once they are in (set by option
  /// resolution; may be empty). It may block the caller for one credentials exchange.
  std::function<void()> on_expired_keys;

  bool ShouldRetry(const Error& e, int attempts_made) const {
    return e.retryable && attempts_made < max_attempts;
  }

  /// The one retry decision every request and every object-level round takes: the wait
  /// before trying again after `attempts_made` tries ended in `e`, or nullopt when `e` is
  /// final (not retryable by the error table, attempts spent, or the run stopping).
  std::optional<std::chrono::milliseconds> NextTry(const Error& e, int attempts_made, bool stopping) const {
    if (stopping || !ShouldRetry(e, attempts_made)) return std::nullopt;
    // The provider refreshes before this returns: the retry is signed with the new keys.
    if ((e.s3_code == "ExpiredToken" || e.s3_code == "TokenRefreshRequired") && on_expired_keys) on_expired_keys();
    return Backoff(attempts_made, e);
  }

  /// Exponential backoff with full jitter; a server's Retry-After is a floor.
  std::chrono::milliseconds Backoff(int attempts_made, const Error& e) const {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    double ceiling = static_cast<double>(base.count()) * static_cast<double>(1ull << std::min(attempts_made, 20));
    ceiling = std::min(ceiling, static_cast<double>(cap.count()));
    std::uniform_real_distribution<double> jitter(0, ceiling);
    double ms = std::max(jitter(rng), e.retry_after_s * 1000.0);
    return std::chrono::milliseconds(static_cast<long long>(std::min(ms, 120000.0)));
  }
};

}  // namespace riptide::engine
