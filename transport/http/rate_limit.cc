#include "transport/http/rate_limit.h"

#include <algorithm>
#include <ctime>
#include <sstream>

#include "transport/byte_size.h"

namespace riptide::http {
namespace {

Error Bad(const std::string& text, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, "bandwidth limit '" + text + "': " + why);
}

// "10M", "512K", "1.5G", "100" (bytes per second), "off" or "0" (no limit).
Result<uint64_t> ParseRate(const std::string& text, const std::string& whole) {
  if (text == "off" || text == "0") return uint64_t{0};
  auto rate = ParseByteSize(text);
  if (!rate.ok()) return Bad(whole, "'" + text + "' is not a rate (" + rate.error().message + "; e.g. 10M, 512K, off)");
  if (*rate < 1024) return Bad(whole, "a limit below 1K/s is no limit anyone wants");
  return *rate;
}

}  // namespace

Result<RateSchedule> RateSchedule::Parse(const std::string& text) {
  RateSchedule s;
  if (text.find(',') == std::string::npos) {
    auto rate = ParseRate(text, text);
    if (!rate.ok()) return rate.error();
    s.entries.push_back({0, *rate});
    return s;
  }
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    const size_t comma = word.find(',');
    int hh = 0, mm = 0;
    char colon = 0;
    std::istringstream at(word.substr(0, comma));
    if (comma == std::string::npos || !(at >> hh >> colon >> mm) || colon != ':' || hh < 0 || hh > 23 || mm < 0 ||
        mm > 59) {
      return Bad(text, "each entry is HH:MM,RATE (e.g. \"08:00,10M 19:00,off\")");
    }
    auto rate = ParseRate(word.substr(comma + 1), text);
    if (!rate.ok()) return rate.error();
    s.entries.push_back({hh * 60 + mm, *rate});
  }
  std::sort(s.entries.begin(), s.entries.end(), [](const Entry& a, const Entry& b) {
    return a.minute_of_day < b.minute_of_day;
  });
  return s;
}

uint64_t RateSchedule::RateAt(int minute_of_day) const {
  if (entries.empty()) return 0;
  uint64_t rate = entries.back().rate;  // before the first entry: the day's last one still holds
  for (const auto& e : entries) {
    if (e.minute_of_day <= minute_of_day) rate = e.rate;
  }
  return rate;
}

Result<BandwidthLimit> BandwidthLimit::Parse(const std::string& text) {
  // Each rate ("10M" or "UP:DOWN") splits the text into an upload and a download schedule.
  std::string up, down;
  std::istringstream words(text);
  std::string word;
  const bool scheduled = text.find(',') != std::string::npos;
  while (words >> word) {
    const size_t comma = scheduled ? word.find(',') : std::string::npos;
    const std::string when = comma == std::string::npos ? "" : word.substr(0, comma + 1);
    const std::string rate = comma == std::string::npos ? word : word.substr(comma + 1);
    const size_t colon = rate.find(':');
    up += (up.empty() ? "" : " ") + when + (colon == std::string::npos ? rate : rate.substr(0, colon));
    down += (down.empty() ? "" : " ") + when + (colon == std::string::npos ? rate : rate.substr(colon + 1));
  }
  if (up.empty()) return Bad(text, "give a rate such as 10M, 1M:10M or \"08:00,10M 19:00,off\"");
  // An error names the part it read: say it of the whole text.
  auto whole = [&text](const Error& e) { return Bad(text, e.message.substr(e.message.find("': ") + 3)); };
  auto send = RateSchedule::Parse(up);
  if (!send.ok()) return whole(send.error());
  auto receive = RateSchedule::Parse(down);
  if (!receive.ok()) return whole(receive.error());
  return BandwidthLimit{std::move(*send), std::move(*receive)};
}

RateLimiter::RateLimiter(RateSchedule schedule) : schedule_(std::move(schedule)), last_(Clock::now()) {}

void RateLimiter::Refill(Clock::time_point now) {
  if (now >= next_check_) {
    const std::time_t t = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&t, &local);
    const uint64_t rate = schedule_.RateAt(local.tm_hour * 60 + local.tm_min);
    if (rate != rate_) tokens_ = std::min(tokens_, static_cast<double>(rate) / 4);
    rate_ = rate;
    next_check_ = now + std::chrono::seconds(10);
  }
  const double seconds = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  // A quarter of a second's worth at most: never a burst above the limit for long.
  tokens_ = std::min(tokens_ + seconds * static_cast<double>(rate_), static_cast<double>(rate_) / 4);
}

std::chrono::nanoseconds RateLimiter::Take(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  Refill(Clock::now());
  if (rate_ == 0) return std::chrono::nanoseconds(0);
  if (tokens_ > 0) {
    tokens_ -= static_cast<double>(n);
    return std::chrono::nanoseconds(0);
  }
  const double wait = (1.0 - tokens_) / static_cast<double>(rate_);  // until the bucket is above zero
  return std::chrono::nanoseconds(static_cast<int64_t>(wait * 1e9) + 1000000);
}

uint64_t RateLimiter::rate() {
  std::lock_guard<std::mutex> lock(mu_);
  Refill(Clock::now());
  return rate_;
}

}  // namespace riptide::http
