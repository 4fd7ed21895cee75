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

TEST(Budget, ALoweredLimitHoldsNewTakesUntilEnoughComesBack) {
  Budget budget(16);
  budget.SetLimit(4);
  EXPECT_EQ(budget.limit(), 4);
  ASSERT_TRUE(budget.TryAcquire(3));
  EXPECT_FALSE(budget.TryAcquire(2));  // 3 + 2 is over the limit, not over the total
  ASSERT_TRUE(budget.TryAcquire(1));
  budget.SetLimit(2);                  // nothing taken is called in
  EXPECT_EQ(budget.used(), 4);
  budget.Release(3);
  EXPECT_FALSE(budget.TryAcquire(2));  // 1 held + 2 is over the new limit
  budget.Release(1);
  ASSERT_TRUE(budget.TryAcquire(2));
  budget.Release(2);
  // One wider than the limit (planned before it fell) goes alone, never beside others.
  ASSERT_TRUE(budget.TryAcquire(5));
  EXPECT_FALSE(budget.TryAcquire(1));
  budget.Release(5);
  std::atomic<bool> got{false};
  ASSERT_TRUE(budget.Acquire(2));
  std::thread waiter([&] { got = budget.Acquire(2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(got);
  budget.SetLimit(8);  // a raised limit wakes the waiter
  waiter.join();
  EXPECT_TRUE(got);
  budget.SetLimit(1000);
  EXPECT_EQ(budget.limit(), 16);  // never above the total
}

}  // namespace
}  // namespace riptide::engine
