#include "engine/core/budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace riptide::engine {
namespace {

TEST(Budget, AWaiterGetsTokensWhenReleasedAndACancelWakesIt) {
  Budget budget(4);
  ASSERT_TRUE(budget.Acquire(3));
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = budget.Acquire(2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(got);  // 1 free, 2 wanted
  budget.Release(1);
  waiter.join();
  EXPECT_TRUE(got);
  std::atomic<int> result{-1};
  std::thread blocked([&] { result = budget.Acquire(4) ? 1 : 0; });
  budget.Cancel();
  blocked.join();
  EXPECT_EQ(result, 0);  // cancelled, not granted
}

}  // namespace
}  // namespace riptide::engine
