// When a service job runs on its own: every fixed interval ("every: 5m") or on a 5-field
// cron expression in UTC ("schedule: 0 * * * *"), or never (triggers only).
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <optional>
#include <string>

#include "transport/result.h"

namespace riptide::serve {

using Clock = std::chrono::system_clock;

/// "90s", "5m", "1h30m", "2d", or a bare number of seconds; at least one second.
Result<std::chrono::seconds> ParseDuration(const std::string& text);

class Schedule {
 public:
  Schedule() = default;  // never fires
  static Schedule Every(std::chrono::seconds interval);
  /// Minute, hour, day of month, month, day of week; `*`, lists, ranges and `/steps`;
  /// day of week 0-7 (0 and 7 are Sunday). Errors name the field.
  static Result<Schedule> Cron(const std::string& expression);

  bool fires() const { return kind_ != Kind::kNever; }
  /// The first time strictly after `after` when it fires (nullopt: never).
  std::optional<Clock::time_point> Next(Clock::time_point after) const;
  /// As the user wrote it: "every 5m", "cron 0 * * * *", "on trigger".
  std::string Describe() const;

 private:
  enum class Kind { kNever, kEvery, kCron };
  Kind kind_ = Kind::kNever;
  std::chrono::seconds interval_{0};
  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1-31
  std::bitset<13> months_;  // 1-12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool any_day_ = true, any_weekday_ = true;  // cron's rule: both restricted = either matches
};

}  // namespace riptide::serve
