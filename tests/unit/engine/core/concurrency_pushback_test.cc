// The concurrency controller when the server pushes back (SlowDown, 503, timeouts) and
// the ceiling it learns from that; and the tuner that drives it from a running job.
#include "engine/core/concurrency_control.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/core/budget.h"
#include "engine/core/stats.h"
#include "tests/unit/engine/core/simulated_servers.h"

namespace riptide::engine {
namespace {

using namespace sim;  // the simulated servers

TEST(ConcurrencyController, BacksOffMultiplicativelyOnSlowDownAndTimeouts) {
  ConcurrencyController c({2, 64, 256});
  ControlSample calm = Knee(1000)(64);
  c.Update(calm);  // the first period settles
  ControlSample slow = calm;
  slow.throttled = 1;
  EXPECT_EQ(c.Update(slow), 44);  // 64 × 0.7
  EXPECT_EQ(c.Update(slow), 44);  // the cut's own echo
  ControlSample late = Knee(1000)(44);
  late.timeouts = 2;
  EXPECT_EQ(c.Update(late), 30);  // a timeout cuts too
  for (int i = 0; i < 50; ++i) c.Update(slow);
  EXPECT_EQ(c.limit(), 2);  // never below the floor
}

TEST(ConcurrencyController, BehindACapItStaysJustUnderWithFewSlowDowns) {
  ConcurrencyController c({2, 8, 256});
  Trace t = Drive(c, Cap(24), 300);
  const double best = 24 * 4 * kMB;
  EXPECT_GE(t.MeanBytes(30), 0.9 * best);
  uint64_t requests = 0;
  for (size_t i = 30; i < t.samples.size(); ++i) requests += t.samples[i].requests;
  // Once it has found the cap it tries above it only now and then.
  EXPECT_LE(static_cast<double>(t.Throttled(30)), 0.01 * static_cast<double>(requests));
  size_t above = 0;
  for (size_t i = 30; i < t.limits.size(); ++i) above += t.limits[i] > 24;
  EXPECT_LE(above, t.limits.size() / 10);
}

TEST(ConcurrencyController, APushbackAfterALatencyCutIsNotUndoneWithIt) {
  // The first seconds run four times faster (the page cache), so 64 in flight later looks
  // like queueing and latency cuts to 44; then the server starts refusing above 40 and
  // that cuts to 30. The cost at 30 is what it was at 64 (nothing had queued): the latency
  // cut alone would be undone, but going back to 64 would run into the refusals again.
  const Server knee = Knee(64);
  int period = 0;
  bool capped = false, was_at_top = false;
  ConcurrencyController c({2, 8, 64});
  Trace t = Drive(c, [&](int limit) {
    was_at_top = was_at_top || limit == 64;
    capped = capped || (was_at_top && limit < 64);
    ControlSample s = knee(capped ? std::min(limit, 40) : limit);  // the same work, refused above 40
    s.busy = limit;
    if (capped && limit > 40) s.throttled = static_cast<uint64_t>(limit - 40) * 10;
    if (++period <= 5) s.bytes *= 4;
    return s;
  }, 120);
  ASSERT_TRUE(capped);
  const size_t first = static_cast<size_t>(std::find(t.limits.begin(), t.limits.end(), 44) - t.limits.begin());
  ASSERT_LT(first, t.limits.size()) << "the latency cut";
  // Probes may try a step above the refusals now and then; never back to where latency cut.
  EXPECT_LT(*std::max_element(t.limits.begin() + static_cast<long>(first), t.limits.end()), 64);
}

TEST(ConcurrencyController, UnderACeilingLatencyStillCutsAndARecoveryThatDoesNotPayEnds) {
  // A link that 64 requests fill, behind a server that refuses above 40. Five periods after
  // it last refused, another tenant takes most of the link for a while: climbing back
  // toward the refusals buys nothing then, and latency must cut as it would anywhere
  // (it once probed up and back every other period instead). When the link is free
  // again the refusals are still there: the limit climbs back at the pace of probes that
  // pay, and within this minute stays under where the server refused.
  int period = 0, last_refused = -1, refused_limit = 0, tenant_from = -1;
  std::vector<int> phase;  // 0: before the tenant; 1: while it takes the link; 2: after
  ConcurrencyController c({2, 8, 256});
  Trace t = Drive(c, [&](int limit) {
    if (tenant_from < 0 && last_refused >= 0 && period >= last_refused + 5) tenant_from = period;
    phase.push_back(tenant_from < 0 ? 0 : period < tenant_from + 20 ? 1 : 2);
    ControlSample s = Knee(phase.back() == 1 ? 8 : 64)(std::min(limit, 40));
    s.busy = limit;
    if (limit > 40) {
      s.throttled = static_cast<uint64_t>(limit - 40) * 10;
      if (tenant_from < 0) {
        last_refused = period;
        refused_limit = limit;
      }
    }
    ++period;
    return s;
  }, 55);
  ASSERT_GE(tenant_from, 0);
  ASSERT_LT(period - last_refused, 55) << "the ceiling is not yet due to be tried again";
  int lowest = 256, changes = 0, highest_after = 0;
  for (size_t i = 1; i < phase.size(); ++i) {
    if (phase[i] == 1) {
      lowest = std::min(lowest, t.limits[i]);
      changes += t.limits[i] != t.limits[i - 1];
    }
    if (phase[i] == 2) highest_after = std::max(highest_after, t.limits[i]);
  }
  EXPECT_LE(lowest, 24) << "latency cut while the tenant took the link";
  EXPECT_LE(changes, 6) << "probes that do not pay are not repeated every other period";
  EXPECT_LT(highest_after, refused_limit);
  EXPECT_GE(t.limits.back(), lowest + 4) << "it climbs again, at the pace of probes that pay";
}

TEST(ConcurrencyController, ASlowDownCancelsTheMeasurementSlowStartStillOwes) {
  // Slow start steps back from 16 to 8 (8 was measured in a fast first second) and owes
  // 8 a second measurement, which could send it back to 16. Before that, the server
  // refuses at 8: the limit must stay under where it was refused, not return to 16.
  ConcurrencyController c({2, 8, 256});
  Trace t = StepBackFrom16(c, [](int, int period) {
    ControlSample s = Knee(1000)(8);  // slower at any limit from the step back on
    s.bytes /= 2;
    s.requests = s.bytes >> 20;
    if (period == 4) s.throttled = 5;  // refused just after the step back
    return s;
  }, 20);
  ASSERT_EQ(t.limits[3], 16);
  ASSERT_EQ(t.limits[4], 8) << "slow start stepped back";
  EXPECT_LT(*std::max_element(t.limits.begin() + 5, t.limits.end()), 8);
}

TEST(ConcurrencyController, ACeilingIsTriedAgainAfterAWhile) {
  // The server's cap rises from 12 to 48 halfway: the controller finds the new room.
  int cap = 12;
  ConcurrencyController c({2, 8, 256});
  Trace t = Drive(c, [&](int limit) { return Cap(cap)(limit); }, 100);
  EXPECT_LE(t.limits.back(), 12);
  cap = 48;
  Trace later = Drive(c, [&](int limit) { return Cap(cap)(limit); }, 300);
  EXPECT_GE(later.limits.back(), 30);
}

// A tuner from 8 on a budget of 64, fed by counters a test moves, a period a tick.
struct TunerRig {
  Budget budget{64};
  Stats stats;
  uint64_t requests = 0, bytes = 0;
  double now = 0;
  ConcurrencyTuner tuner{{2, 8, 64}, budget, stats, [this] { return requests; }, [this] { return bytes; },
                         1, [this] { return now; }};
};

TEST(ConcurrencyTuner, MovesTheBudgetAndShowsTheLimitInTheStats) {
  TunerRig rig;
  auto& [budget, stats, requests, bytes, now, tuner] = rig;
  EXPECT_EQ(budget.limit(), 8);
  EXPECT_EQ(stats.concurrency, 8);
  EXPECT_TRUE(stats.concurrency_auto);
  ASSERT_TRUE(budget.Acquire(8));  // the run fills its slots
  for (int i = 0; i < 12; ++i) {
    bytes += static_cast<uint64_t>(budget.limit()) << 20;  // twice the slots, twice the bytes
    requests += static_cast<uint64_t>(budget.limit());  // every slot turned over: a period
    now += 1;
    tuner.Tick();
    if (budget.limit() > budget.used()) {
      ASSERT_TRUE(budget.Acquire(budget.limit() - budget.used()));
    }
  }
  EXPECT_EQ(budget.limit(), 64);
  EXPECT_EQ(stats.concurrency, 64);
  EXPECT_EQ(stats.concurrency_peak, 64);
  stats.throttled += 3;  // the server pushes back
  requests += 1;          // a period ends after 4 ticks at most, however few requests
  for (int i = 0; i < 3; ++i) {
    now += 1;
    tuner.Tick();
    EXPECT_EQ(budget.limit(), 64);
  }
  now += 1;
  tuner.Tick();
  EXPECT_EQ(budget.limit(), 44);
  EXPECT_EQ(stats.concurrency, 44);
  EXPECT_EQ(stats.concurrency_peak, 64);
}

TEST(ConcurrencyTuner, ARaiseIsNoWorkDone) {
  // A server that serves one request at a time: sixteen 64 KiB objects a second whatever
  // the limit. A raise starts as many requests at once as it adds slots; counted as work
  // they would make each doubling look as if it paid, up to the top. Counted as what they
  // are, more in flight only waits longer: slow start stops where latency says so.
  TunerRig rig;
  auto& [budget, stats, requests, bytes, now, tuner] = rig;
  ASSERT_TRUE(budget.Acquire(8));
  for (int i = 0; i < 12; ++i) {
    requests += 16;  // finished, and as many started in their slots
    bytes += 16 << 16;
    now += 1;
    tuner.Tick();
    if (budget.limit() > budget.used()) {
      requests += static_cast<uint64_t>(budget.limit() - budget.used());  // the raise's own starts
      ASSERT_TRUE(budget.Acquire(budget.limit() - budget.used()));
    }
  }
  EXPECT_LE(stats.concurrency_peak, 32);
  EXPECT_LT(budget.limit(), 64);
}

}  // namespace
}  // namespace riptide::engine
