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

TEST(Budget, TokensTakenHereAreTakenInTheParentToo) {
  Budget shared(3);
  Budget a(8, &shared), b(8, &shared);
  ASSERT_TRUE(a.Acquire(2));
  EXPECT_FALSE(b.TryAcquire(2));  // b has 8, the shared limit 1
  EXPECT_EQ(b.used(), 0);         // a refused take leaves nothing behind
  ASSERT_TRUE(b.TryAcquire(1));
  EXPECT_EQ(shared.used(), 3);
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = b.Acquire(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(got);  // waiting on the shared limit
  a.Release(2);
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(a.used(), 0);
  EXPECT_EQ(b.used(), 2);
  EXPECT_EQ(shared.used(), 2);
  // Wider than the whole shared limit: takes all of it, gives back as much.
  b.Release(2);
  ASSERT_TRUE(a.Acquire(5));
  EXPECT_EQ(shared.used(), 3);
  a.Release(5);
  EXPECT_EQ(shared.used(), 0);
}

TEST(Budget, ACancelWakesAWaiterBlockedOnTheParent) {
  Budget shared(1);
  Budget a(4, &shared), b(4, &shared);
  ASSERT_TRUE(a.Acquire(1));
  std::atomic<int> result{-1};
  std::thread blocked([&] { result = b.Acquire(1) ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  b.Cancel();
  blocked.join();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(b.used(), 0);  // its own token given back
  a.Release(1);
  EXPECT_EQ(shared.used(), 0);
}

}  // namespace
}  // namespace riptide::engine
