// A bandwidth limit shared by every transfer that holds it (all transports of a job, or
// of the whole service): a token bucket refilled at the current rate, which may follow a
// schedule over the day ("08:00,10M 19:00,off", as rclone writes it).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::http {

/// Bytes per second by local time of day: from each entry's time until the next one's.
struct RateSchedule {
  struct Entry {
    int minute_of_day = 0;
    uint64_t rate = 0;  // bytes per second; 0: no limit
  };
  std::vector<Entry> entries;  // by time; one entry at 00:00 means a fixed rate

  /// "10M", "off", or "08:00,10M 19:00,off".
  static Result<RateSchedule> Parse(const std::string& text);
  uint64_t RateAt(int minute_of_day) const;
};

/// --bwlimit: "10M" (both ways), "UP:DOWN" ("1M:10M", as rclone writes it; "off" for
/// either), or a schedule whose rates may be either ("08:00,512K:10M 19:00,off").
struct BandwidthLimit {
  RateSchedule send, receive;
  static Result<BandwidthLimit> Parse(const std::string& text);
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateSchedule schedule);

  /// Takes `n` bytes when the bucket is not empty (it may go into debt by what one call
  /// takes) and returns 0; otherwise takes nothing and returns how long to wait.
  std::chrono::nanoseconds Take(size_t n);
  /// The rate now (0: unlimited).
  uint64_t rate();

 private:
  void Refill(Clock::time_point now);
  RateSchedule schedule_;
  std::mutex mu_;
  double tokens_ = 0;
  uint64_t rate_ = 0;
  Clock::time_point last_;
  Clock::time_point next_check_;  // when the schedule is read again
};

}  // namespace riptide::http
