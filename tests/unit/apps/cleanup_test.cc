// `riptide cleanup --older-than`: durations.
#include "apps/cleanup_command.h"

#include <gtest/gtest.h>

namespace riptide::app {
namespace {

TEST(Duration, UnitsAndBareSeconds) {
  EXPECT_EQ(ParseDurationSeconds("0s"), 0);
  EXPECT_EQ(ParseDurationSeconds("90"), 90);
  EXPECT_EQ(ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(ParseDurationSeconds("24h"), 86400);
  EXPECT_EQ(ParseDurationSeconds("7d"), 604800);
}

TEST(Duration, MalformedIsMinusOne) {
  for (const char* bad : {"", "h", "-1h", "1.5h", "3w", "12 h", "99999999999999999999d"}) {
    EXPECT_EQ(ParseDurationSeconds(bad), -1) << bad;
  }
}

}  // namespace
}  // namespace riptide::app
