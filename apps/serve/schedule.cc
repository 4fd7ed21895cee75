#include "apps/serve/schedule.h"

#include <cctype>
#include <ctime>
#include <sstream>
#include <vector>

#include "transport/strings.h"

namespace riptide::serve {
namespace {

Error Invalid(const std::string& message) { return MakeError(ErrorCode::kInvalidArgument, message); }

bool ParseNumber(const std::string& s, int* out) {
  if (s.empty() || s.size() > 4) return false;
  int v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// One field: "*", "*/15", "1,5,9", "1-5", "10-50/10". Sets bits lo..hi of `bits`.
template <size_t N>
Status ParseField(const std::string& field, const char* name, int lo, int hi, std::bitset<N>& bits, bool* any) {
  *any = field == "*";
  for (const std::string& item : SplitOn(field, ',')) {
    std::string range = item;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      range = item.substr(0, slash);
      if (!ParseNumber(item.substr(slash + 1), &step) || step < 1) {
        return Invalid(std::string("cron ") + name + ": bad step in '" + item + "'");
      }
    }
    int first = lo, last = hi;
    if (range != "*") {
      auto dash = range.find('-');
      if (dash == std::string::npos) {
        if (!ParseNumber(range, &first)) return Invalid(std::string("cron ") + name + ": '" + item + "' is not a number");
        last = item.find('/') == std::string::npos ? first : hi;
      } else if (!ParseNumber(range.substr(0, dash), &first) || !ParseNumber(range.substr(dash + 1), &last)) {
        return Invalid(std::string("cron ") + name + ": bad range '" + item + "'");
      }
    }
    if (first < lo || last > hi || first > last) {
      return Invalid(std::string("cron ") + name + ": '" + item + "' is outside " + std::to_string(lo) + "-" +
                     std::to_string(hi));
    }
    for (int v = first; v <= last; v += step) bits.set(static_cast<size_t>(v));
  }
  return OkStatus();
}

}  // namespace

Result<std::chrono::seconds> ParseDuration(const std::string& text) {
  if (text.empty()) return Invalid("an empty interval");
  int64_t total = 0, number = 0;
  bool have_number = false, have_unit = false;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number = number * 10 + (c - '0');
      if (number > 100000000) return Invalid("interval '" + text + "' is too long");
      have_number = true;
      continue;
    }
    int64_t unit = c == 's' ? 1 : c == 'm' ? 60 : c == 'h' ? 3600 : c == 'd' ? 86400 : 0;
    if (unit == 0 || !have_number) return Invalid("interval '" + text + "': use a number and s, m, h or d (5m, 1h30m)");
    total += number * unit;
    number = 0;
    have_number = false;
    have_unit = true;
  }
  if (have_number) {
    if (have_unit) return Invalid("interval '" + text + "': a number without a unit at the end");
    total = number;  // bare seconds
  }
  if (total < 1) return Invalid("interval '" + text + "' must be at least one second");
  return std::chrono::seconds(total);
}

Schedule Schedule::Every(std::chrono::seconds interval) {
  Schedule s;
  s.kind_ = Kind::kEvery;
  s.interval_ = interval;
  return s;
}

Result<Schedule> Schedule::Cron(const std::string& expression) {
  std::istringstream in(expression);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return Invalid("schedule '" + expression + "' needs 5 fields (minute hour day month weekday), not " +
                   std::to_string(fields.size()));
  }
  Schedule s;
  s.kind_ = Kind::kCron;
  s.expression_ = expression;
  bool any = false;
  std::bitset<8> weekdays;
  if (Status st = ParseField(fields[0], "minute", 0, 59, s.minutes_, &any); !st.ok()) return st.error();
  if (Status st = ParseField(fields[1], "hour", 0, 23, s.hours_, &any); !st.ok()) return st.error();
  if (Status st = ParseField(fields[2], "day of month", 1, 31, s.days_, &s.any_day_); !st.ok()) return st.error();
  if (Status st = ParseField(fields[3], "month", 1, 12, s.months_, &any); !st.ok()) return st.error();
  if (Status st = ParseField(fields[4], "day of week", 0, 7, weekdays, &s.any_weekday_); !st.ok()) return st.error();
  for (size_t d = 0; d < 7; ++d) s.weekdays_[d] = weekdays[d];
  if (weekdays[7]) s.weekdays_[0] = true;
  return s;
}

std::optional<Clock::time_point> Schedule::Next(Clock::time_point after) const {
  if (kind_ == Kind::kNever) return std::nullopt;
  if (kind_ == Kind::kEvery) return after + interval_;
  // Minute by minute from the next whole minute: at most a few years of minutes, but
  // whole hours and days that cannot match are skipped.
  auto t = std::chrono::floor<std::chrono::minutes>(after) + std::chrono::minutes(1);
  const auto limit = t + std::chrono::hours(24 * 366 * 5);
  while (t < limit) {
    std::time_t tt = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    const bool day_ok = any_day_ && any_weekday_ ? true
                        : any_day_               ? weekdays_[static_cast<size_t>(tm.tm_wday)]
                        : any_weekday_           ? days_[static_cast<size_t>(tm.tm_mday)]
                                                 : days_[static_cast<size_t>(tm.tm_mday)] ||
                                             weekdays_[static_cast<size_t>(tm.tm_wday)];
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)] || !day_ok) {
      t += std::chrono::minutes(24 * 60 - tm.tm_hour * 60 - tm.tm_min);  // the next midnight
      continue;
    }
    if (!hours_[static_cast<size_t>(tm.tm_hour)]) {
      t += std::chrono::minutes(60 - tm.tm_min);
      continue;
    }
    if (minutes_[static_cast<size_t>(tm.tm_min)]) return t;
    t += std::chrono::minutes(1);
  }
  return std::nullopt;  // e.g. 30 February
}

std::string Schedule::Describe() const {
  switch (kind_) {
    case Kind::kNever:
      return "on trigger";
    case Kind::kEvery:
    {
      std::string text;
      int64_t left = interval_.count();
      for (auto [unit, size] : {std::pair<char, int64_t>{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}) {
        if (left >= size) text += std::to_string(left / size) + unit;
        left %= size;
      }
      return "every " + text;
    }
    case Kind::kCron:
      return "cron " + expression_ + " (UTC)";
  }
  return "";
}

}  // namespace riptide::serve
