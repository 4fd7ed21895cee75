#include "transport/http/rate_limit.h"

#include <gtest/gtest.h>

#include <thread>

namespace riptide::http {
namespace {

TEST(BandwidthLimit, RatesDirectionsAndSchedules) {
  auto both = BandwidthLimit::Parse("10M");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->send.RateAt(0), 10u << 20);
  EXPECT_EQ(both->receive.RateAt(700), 10u << 20);
  auto split = BandwidthLimit::Parse("1M:off");  // rclone's UP:DOWN
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->send.RateAt(0), 1u << 20);
  EXPECT_EQ(split->receive.RateAt(0), 0u);
  auto day = BandwidthLimit::Parse("08:00,512K:10M 19:00,off");
  ASSERT_TRUE(day.ok()) << day.error().message;
  EXPECT_EQ(day->send.RateAt(8 * 60), 512u << 10);
  EXPECT_EQ(day->receive.RateAt(12 * 60), 10u << 20);
  EXPECT_EQ(day->receive.RateAt(20 * 60), 0u);
  EXPECT_EQ(day->receive.RateAt(3 * 60), 0u);  // before 08:00: the evening's "off" still holds
  for (const char* bad : {"", "10X", "1M:2M:3M", "25:00,1M", "08:00", "08:00,", "100"}) {
    EXPECT_FALSE(BandwidthLimit::Parse(bad).ok()) << bad;
  }
}

TEST(RateLimiter, TakesNoMoreThanTheRateAllowsAndWaitsOtherwise) {
  RateSchedule s;
  s.entries.push_back({0, 1 << 20});  // 1 MiB/s
  RateLimiter limiter(s);
  const auto start = std::chrono::steady_clock::now();
  uint64_t taken = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500)) {
    const auto wait = limiter.Take(16384);
    if (wait.count() == 0) {
      taken += 16384;
    } else {
      EXPECT_LE(wait, std::chrono::milliseconds(300));
      std::this_thread::sleep_for(wait);
    }
  }
  // Half a second at 1 MiB/s, give or take one chunk of debt and the quarter-second bucket.
  EXPECT_GE(taken, 400u << 10);
  EXPECT_LE(taken, (512u << 10) + (256u << 10) + 16384);
  RateLimiter off(RateSchedule{{{0, 0}}});
  EXPECT_EQ(off.Take(1 << 30).count(), 0);
}

}  // namespace
}  // namespace riptide::http
