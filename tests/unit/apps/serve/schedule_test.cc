#include "apps/serve/schedule.h"

#include <gtest/gtest.h>

#include <ctime>

namespace riptide::serve {
namespace {

Clock::time_point Utc(int year, int month, int day, int hour, int minute, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return Clock::from_time_t(timegm(&tm));
}

TEST(ParseDuration, UnitsAndBareSeconds) {
  EXPECT_EQ(ParseDuration("90s")->count(), 90);
  EXPECT_EQ(ParseDuration("5m")->count(), 300);
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400);
  EXPECT_EQ(ParseDuration("2d")->count(), 172800);
  EXPECT_EQ(ParseDuration("45")->count(), 45);
  for (const char* bad : {"", "0s", "5q", "m", "1h30", "-5m", "5 m"}) EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
}

TEST(Schedule, EveryIsAFixedIntervalAndDescribesItself) {
  auto s = Schedule::Every(std::chrono::seconds(90));
  const auto t = Utc(2026, 11, 29, 10, 0);
  EXPECT_EQ(*s.Next(t), t + std::chrono::seconds(90));
  EXPECT_EQ(s.Describe(), "every 1m30s");
  EXPECT_EQ(Schedule::Every(std::chrono::hours(25)).Describe(), "every 1d1h");
  EXPECT_FALSE(Schedule().fires());
  EXPECT_FALSE(Schedule().Next(t));
  EXPECT_EQ(Schedule().Describe(), "on trigger");
}

TEST(Schedule, CronFiresAtTheNextMatchingMinuteInUtc) {
  auto hourly = Schedule::Cron("0 * * * *");
  ASSERT_TRUE(hourly.ok());
  EXPECT_EQ(*hourly->Next(Utc(2026, 11, 29, 10, 15, 30)), Utc(2026, 11, 29, 11, 0));
  EXPECT_EQ(*hourly->Next(Utc(2026, 11, 29, 11, 0)), Utc(2026, 11, 29, 12, 0));  // strictly after
  EXPECT_EQ(*hourly->Next(Utc(2026, 12, 31, 23, 30)), Utc(2027, 1, 1, 0, 0));

  // Working hours, every quarter: Friday 17:50 → Monday 09:00.
  auto office = Schedule::Cron("*/15 9-17 * * 1-5");
  ASSERT_TRUE(office.ok());
  EXPECT_EQ(*office->Next(Utc(2026, 11, 27, 17, 50)), Utc(2026, 11, 30, 9, 0));
  EXPECT_EQ(*office->Next(Utc(2026, 11, 30, 9, 0)), Utc(2026, 11, 30, 9, 15));

  // Both day fields restricted: either matches (cron's rule). 1 Dec 2026 is a Tuesday.
  auto either = Schedule::Cron("30 6 1 * 0");
  ASSERT_TRUE(either.ok());
  EXPECT_EQ(*either->Next(Utc(2026, 11, 29, 7, 0)), Utc(2026, 12, 1, 6, 30));
  EXPECT_EQ(*either->Next(Utc(2026, 11, 28, 7, 0)), Utc(2026, 11, 29, 6, 30));  // a Sunday

  // Sunday is 0 or 7; lists and stepped ranges.
  EXPECT_EQ(*Schedule::Cron("0 0 * * 7")->Next(Utc(2026, 11, 29, 1, 0)), Utc(2026, 12, 6, 0, 0));
  EXPECT_EQ(*Schedule::Cron("5,35 10-20/5 * * *")->Next(Utc(2026, 11, 29, 10, 40)), Utc(2026, 11, 29, 15, 5));
  EXPECT_FALSE(Schedule::Cron("0 0 30 2 *")->Next(Utc(2026, 1, 1, 0, 0)));  // never
  EXPECT_EQ(Schedule::Cron("0 * * * *")->Describe(), "cron 0 * * * * (UTC)");
}

TEST(Schedule, CronErrorsNameTheField) {
  EXPECT_NE(Schedule::Cron("0 * * *").error().message.find("needs 5 fields"), std::string::npos);
  EXPECT_NE(Schedule::Cron("61 * * * *").error().message.find("cron minute"), std::string::npos);
  EXPECT_NE(Schedule::Cron("0 24 * * *").error().message.find("cron hour"), std::string::npos);
  EXPECT_NE(Schedule::Cron("0 0 0 * *").error().message.find("cron day of month"), std::string::npos);
  EXPECT_NE(Schedule::Cron("0 0 * 13 *").error().message.find("cron month"), std::string::npos);
  EXPECT_NE(Schedule::Cron("0 0 * * 8").error().message.find("cron day of week"), std::string::npos);
  EXPECT_NE(Schedule::Cron("*/0 * * * *").error().message.find("bad step"), std::string::npos);
  EXPECT_NE(Schedule::Cron("5-1 * * * *").error().message.find("outside"), std::string::npos);
  EXPECT_FALSE(Schedule::Cron("a * * * *").ok());
  EXPECT_FALSE(Schedule::Cron("1- * * * *").ok());
}

}  // namespace
}  // namespace riptide::serve
