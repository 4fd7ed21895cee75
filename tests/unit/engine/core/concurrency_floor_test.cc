// The concurrency controller's floor: the number in flight that latency alone never
// holds a run under (--concurrency auto sets it at 64), while pushback and a doubling
// that does clearly worse still do.
#include "engine/core/concurrency_control.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <utility>

#include "tests/unit/engine/core/simulated_servers.h"

namespace riptide::engine {
namespace {

using namespace sim;  // the simulated servers

int MinFrom(const Trace& t, size_t from) {
  return *std::min_element(t.limits.begin() + from, t.limits.end());
}

// 30 periods from 16 on a server made afresh for each: where a run without a floor ends,
// and the trace of one with auto's.
std::pair<int, Trace> WithoutAndWith(const std::function<Server()>& make) {
  ConcurrencyController without({2, 16, 256});
  const int ends = Drive(without, make(), 30).limits.back();
  ConcurrencyController c({2, 16, 256, 64});
  return {ends, Drive(c, make(), 30)};
}

TEST(ConcurrencyFloor, LatencyAloneNeitherEndsTheClimbNorCutsUnderIt) {
  // A link that 8 requests fill: from 16 on, more in flight only waits longer. Without a
  // floor the latency rules hold the run within 3 x of the knee; with one, the climb goes
  // on to it and stays there.
  ConcurrencyController free_run({2, 16, 256});
  Trace without = Drive(free_run, Knee(8), 60);
  EXPECT_LT(without.limits.back(), 64);

  ConcurrencyController c({2, 16, 256, 64});
  Trace t = Drive(c, Knee(8), 60);
  EXPECT_EQ(t.limits[3], 64);
  EXPECT_EQ(MinFrom(t, 3), 64);
  EXPECT_LE(t.Max(), 72);
  // At the floor the latency rule stands aside, so the probes a step above go on: they are
  // how a run finds out that more pays again.
  EXPECT_GE(std::count(t.limits.begin(), t.limits.end(), 72), 2);
}

TEST(ConcurrencyFloor, ALatencyCutStopsAtTheFloor) {
  // 100 in flight on a link that 10 fill; then another tenant takes four fifths of it.
  // Latency cuts by 0.7 a time: to 49 without a floor, to 64 with one.
  const auto run = [](int floor) {
    int period = 0;
    ConcurrencyController c({2, 100, 100, floor});
    return Drive(c, [&](int limit) {
      ControlSample s = Knee(10)(limit);
      if (++period > 4) s.bytes /= 5;
      return s;
    }, 30);
  };
  EXPECT_EQ(MinFrom(run(0), 0), 49);
  const Trace t = run(64);
  EXPECT_EQ(MinFrom(t, 0), 64) << ::testing::PrintToString(t.limits);
  EXPECT_EQ(t.limits.back(), 64) << ::testing::PrintToString(t.limits);
}

TEST(ConcurrencyFloor, UnderItALossWithinTheNoiseDoesNotEndTheClimb) {
  // A mixed run on a local disk: 32's half seconds came out 0.69 x 16's, which had the page
  // cache to itself; 16, measured again, did 1.17 x 32 and the run stayed at 16 where a
  // fixed 64 made 1.25 x as much. Under the floor a doubling that loses less than a third
  // is taken for noise.
  const auto [without_ends, t] = WithoutAndWith([] { return Step(16, 400, 330); });
  EXPECT_EQ(without_ends, 16);
  EXPECT_EQ(t.limits[3], 64);
  EXPECT_EQ(MinFrom(t, 3), 64);
}

TEST(ConcurrencyFloor, UnderItLooksNoisierThanTheDifferenceClimbOn) {
  // Both half seconds at 32 came out clearly below 16's, at 0.3 and 0.6 x: looks that far
  // apart show noise, and under the floor the climb goes on (above it they end the climb
  // where it is).
  int looks = 0;
  ConcurrencyController c({2, 16, 256, 64});
  Trace t = Drive(c, [&](int limit) {
    ControlSample s = Knee(256)(limit);
    if (limit == 32 && looks < 2) {
      const double share = looks++ ? 0.6 : 0.3;
      s.bytes = static_cast<uint64_t>(static_cast<double>(2 * Knee(256)(16).bytes) * share / 2);
    }
    return s;
  }, 12);
  ASSERT_EQ(looks, 2);
  EXPECT_GE(t.Max(), 128);
}

TEST(ConcurrencyFloor, UnderItTheLowerMeasuredAgainMustAlsoDoClearlyBetter) {
  // 16's first second had the page cache to itself (1.8 x); both looks at 32 did clearly
  // worse than that, so slow start stepped back to 16 to measure it again. 16 then beat 32
  // by 1.2 x: within the noise under the floor, and the climb goes on. (Above it, or
  // without a floor, 1.2 x holds the lower.)
  const auto [without_ends, t] = WithoutAndWith([] {
    auto at16 = std::make_shared<int>(0);  // the first two seconds at 16: the one settled, the one judged
    return [at16](int limit) { return Step(16, limit == 16 && (*at16)++ < 2 ? 540 : 360, 300)(limit); };
  });
  EXPECT_EQ(without_ends, 16);
  ASSERT_EQ(std::count(t.limits.begin(), t.limits.begin() + 8, 16), 4) << ::testing::PrintToString(t.limits);
  EXPECT_GE(MinFrom(t, 12), 64) << ::testing::PrintToString(t.limits);
}

TEST(ConcurrencyFloor, AtItAStepBackUnderItTooNeedsAClearDifference) {
  // 64 does 1.2 x worse than 32 in both looks: without a floor slow start steps back to 32
  // and stays there; with one, that is within the noise under it, and the run stays at 64.
  const auto [without_ends, t] = WithoutAndWith([] { return Step(32, 360, 300); });
  EXPECT_EQ(without_ends, 32);
  const auto at64 = std::find(t.limits.begin(), t.limits.end(), 64);
  ASSERT_NE(at64, t.limits.end());
  EXPECT_GE(*std::min_element(at64, t.limits.end()), 64) << ::testing::PrintToString(t.limits);
}

TEST(ConcurrencyFloor, UnderItMoreThatDoesClearlyWorseStillSendsSlowStartBack) {
  // The thrashing server (16 does half what 8 does, every time): the floor is no reason to
  // stay where more does worse.
  ConcurrencyController c({2, 8, 256, 64});
  Trace t = Drive(c, Thrashing(8), 20);
  EXPECT_EQ(t.Max(), 16);
  EXPECT_EQ(t.limits[4], 8);
  EXPECT_LE(*std::max_element(t.limits.begin() + 4, t.limits.end()), 9);
}

TEST(ConcurrencyFloor, PushbackStillCutsUnderIt) {
  // A server that refuses above 24: the floor of 64 does not hold the run over the cap.
  ConcurrencyController c({2, 8, 256, 64});
  Trace t = Drive(c, Cap(24), 200);
  EXPECT_GE(t.MeanBytes(30), 0.9 * 24 * 4 * kMB);
  size_t above = 0;
  for (size_t i = 30; i < t.limits.size(); ++i) above += t.limits[i] > 24;
  EXPECT_LE(above, t.limits.size() / 10);
}

TEST(ConcurrencyFloor, AutoSetsItAtSixtyFourOrTheMemoryLimit) {
  EXPECT_EQ(kAutoLatencyFloor, 64);
  ConcurrencyController small({2, 8, 40, 64});  // memory affords 40: the floor is 40
  Trace t = Drive(small, Knee(4), 30);
  EXPECT_EQ(t.limits.back(), 40);
}

}  // namespace
}  // namespace riptide::engine
