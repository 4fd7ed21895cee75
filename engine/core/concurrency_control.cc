#include "engine/core/concurrency_control.h"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "engine/core/budget.h"
#include "engine/core/run_shell.h"
#include "engine/core/stats.h"

namespace riptide::engine {
namespace {
// Slow start doubles while a doubling buys this much more (a request in flight costs
// riptide a quarter MiB of memory: more than this is cheap to keep), or while it loses
// no more than the same share and the latency stays within what the steady state keeps
// (kLatencyRise below): one noisy period must not end the climb far under the knee (on
// a single-threaded server that saturates gently, 8 → 16 bought 28 % in fixed runs and
// 4 % in the period measured, and runs stayed at 16–18 where 32–64 did 1.4 × as much).
constexpr double kKeepDoubling = 1.15;
// Under the floor slow start ends only where a doubling does this much worse, in two
// looks that agree: a thrashing server halves, while a noisy mixed run's half seconds at
// 32 came out 0.7 x a page-cache-fast 16's and the run then stayed at 16.
constexpr double kClearlyWorse = 1.5;
// A steady probe is kept when it buys at least this much more.
constexpr double kProbeGain = 1.02;
constexpr int kProbeEvery = 3;
// Slots held per unit of score this many times the lowest seen (over a window of
// periods): latency has risen with nothing to show for it.
constexpr double kLatencyRise = 3;
// A latency cut by kBackOff that leaves the cost above this share of what it was cut
// nothing that queued: the environment slowed (writeback, another tenant) at any limit.
constexpr double kCutShows = 0.85;
// A run using less than this share of its limit shows nothing about a higher one.
constexpr double kFull = 0.75;
// Steady: periods between probes at most, and before the limit the server pushed back
// at is tried again.
constexpr int kMaxProbeEvery = 16;
constexpr int kCeilingPeriods = 60;
// Bytes a request (its weight included) this many times more or less than the recent
// mean: the work changed shape. Large parts giving way to 64 KiB objects move it 25-fold;
// the half seconds of a mixed dataset (1 KiB to 64 MiB) differ by up to 8-fold, and at 4
// one run in two took that for a change of shape and ended its slow start at 32.
constexpr double kShapeChange = 10;
}  // namespace

ConcurrencyController::ConcurrencyController(Bounds bounds)
    : bounds_{std::max(1, bounds.min), 0, std::max(std::max(1, bounds.min), bounds.max), bounds.floor},
      limit_(std::clamp(bounds.start, bounds_.min, bounds_.max)),
      peak_(limit_) {}

double ConcurrencyController::Score(const ControlSample& s) {
  const double secs = s.seconds > 0 ? s.seconds : 1;
  return (static_cast<double>(s.bytes) + static_cast<double>(s.requests) * kRequestBytes) / secs;
}

int ConcurrencyController::Set(int limit) {
  limit_ = std::clamp(limit, bounds_.min, bounds_.max);
  peak_ = std::max(peak_, limit_);
  return limit_;
}

void ConcurrencyController::Cut(bool pushback) {
  cut_cost_ = 0;  // a latency cut checks itself (LatencyRule)
  recheck_ = 0;   // what slow start still owed a measurement is moot after a cut
  // Pushback sets the ceiling to keep under; latency is no refusal and leaves none.
  ceiling_ = pushback ? limit_ : 0;
  since_ceiling_ = 0;
  recover_ = pushback;
  phase_ = Phase::kSteady;
  probing_ = false;
  quiet_ = 0;
  const int cut = static_cast<int>(limit_ * kBackOff);
  Set(pushback ? cut : std::max(cut, bounds_.floor));
  // The requests in flight when the server pushed back answer during the next period:
  // they are echoes of this cut, not news.
  echo_ = 1;
  settle_ = 2;
}

int ConcurrencyController::Update(const ControlSample& s) {
  if ((s.throttled > 0 || s.timeouts > 0) && echo_ == 0) {
    Cut(true);
    return limit_;
  }
  if (echo_ > 0) --echo_;
  if (settle_ > 0) {
    --settle_;
    return limit_;
  }
  ++since_ceiling_;
  const double score = Score(s);
  if (s.busy < kFull * limit_ || score <= 0) return limit_;  // idle slots: nothing learnt
  const double cost = s.busy / score;
  if (NewShape(s, score, cost)) return limit_;
  if (min_cost_ == 0 || cost < min_cost_) {
    min_cost_ = cost;
    min_cost_limit_ = limit_;
  }
  Record(s, score);
  if (phase_ == Phase::kSlowStart) {
    SlowStart(score, cost);
  } else if (recheck_ > 0) {
    Recheck(score);
  } else if (probing_) {
    Judge(score);
  } else if (!LatencyRule()) {
    Probe(score);
  }
  return limit_;
}

void ConcurrencyController::Record(const ControlSample& s, double score) {
  const double secs = s.seconds > 0 ? s.seconds : 1;
  window_[recorded_++ % kWindow] = {s.busy * secs, score * secs, limit_};
}

double ConcurrencyController::WindowCost() const {
  if (recorded_ < kWindow) return 0;
  double busy = 0, score = 0;
  for (const Period& p : window_) {
    if (p.limit != limit_) return 0;
    busy += p.busy;
    score += p.score;
  }
  return score > 0 ? busy / score : 0;
}

bool ConcurrencyController::LatencyRule() {
  const double cost = WindowCost();
  if (cost == 0) return false;
  if (cut_cost_ > 0) {
    const double before = cut_cost_;
    cut_cost_ = 0;
    if (cost > kCutShows * before) {
      // Fewer requests, the same wait per unit of work: nothing had queued. The lowest
      // cost was of an easier time (the page cache's first GiB, or one lucky period):
      // this is the cost now.
      min_cost_ = cost;
      min_cost_limit_ = cut_from_;
      Set(cut_from_);
      quiet_ = 0;
      settle_ = 1;
      return true;
    }
  }
  if (cost <= kLatencyRise * min_cost_ || limit_ <= bounds_.floor) return false;
  // More requests wait at the server for the same work: the extra ones only queue.
  const int from = limit_;
  Cut(false);
  // A cut that ends at the floor (most stop short there) cannot show a full cut's fall
  // in cost: it stands.
  if (limit_ == bounds_.floor) return true;
  cut_cost_ = cost;
  cut_from_ = from;
  return true;
}

bool ConcurrencyController::NewShape(const ControlSample& s, double score, double cost) {
  if (s.requests == 0) return false;
  const double per_request = static_cast<double>(s.bytes) / static_cast<double>(s.requests) + kRequestBytes;
  const double before = shape_;
  shape_ = before == 0 ? per_request : 0.7 * before + 0.3 * per_request;
  if (before == 0 || (per_request < kShapeChange * before && per_request * kShapeChange > before)) return false;
  // The work changed shape (large objects gave way to small ones, say): what was learnt
  // of cost and score no longer compares. Keep the limit; compare afresh from here.
  min_cost_ = cost;
  min_cost_limit_ = limit_;
  recorded_ = 0;
  cut_cost_ = 0;
  look_ = 0;
  recheck_ = 0;
  base_score_ = score;
  base_limit_ = limit_;
  if (probing_) {
    probing_ = false;
    quiet_ = 0;
  }
  return true;
}

void ConcurrencyController::SlowStart(double score, double cost) {
  // New slots fill within milliseconds: the next period already shows the new limit.
  const auto climbs = [&](double sc, double co) {
    // Under the floor the climb ends only where a step back would be taken.
    if (limit_ < bounds_.floor) return base_limit_ == 0 || sc * StepBackShows(base_limit_) >= base_score_;
    const bool pays = sc >= kKeepDoubling * base_score_;
    // Cheap only against a latency measured below this limit (not just after a change
    // of shape, when the lowest is this limit's own).
    const bool cheap =
        sc * kKeepDoubling >= base_score_ && co < kLatencyRise * min_cost_ && min_cost_limit_ < limit_;
    return base_limit_ == 0 || pays || cheap;
  };
  double other = 0;  // the worse of two looks at this limit
  if (!climbs(score, cost)) {
    // Where the climb ends decides the run: one period that caught a stall (writeback,
    // the server busy listing) is no reason to end it. Look twice; take the better.
    if (look_ == 0) {
      look_ = score;
      look_cost_ = cost;
      return;
    }
    other = std::min(look_, score);
    if (look_ > score) {
      score = look_;
      cost = look_cost_;
    }
  }
  look_ = 0;
  const bool agree = other * kKeepDoubling >= score;  // two looks alike (else noise, below)
  if (climbs(score, cost) || (limit_ < bounds_.floor && !agree)) {
    base_score_ = score;
    base_limit_ = limit_;
    if (Set(limit_ * 2) == base_limit_) phase_ = Phase::kSteady;  // at the top already
    return;
  }
  // The knee lies between the last two limits: keep the higher unless it did worse, and
  // did so twice alike. Two looks at one limit further apart than a step back would need
  // say the periods are noisier than the difference (writeback stalls on a mixed
  // dataset: 192 and 335 MB/s at 32 after 434 at 16), and more in flight is seldom worse
  // where neither the server pushes back nor latency rises (runs sent back to 16 on such
  // evidence made 0.8 x what a fixed 64 did).
  phase_ = Phase::kSteady;
  quiet_ = 0;
  settle_ = 1;
  if (score * StepBackShows(base_limit_) < base_score_ && agree) {
    recheck_ = limit_;
    recheck_score_ = score;
    Set(base_limit_);
  }
}

double ConcurrencyController::StepBackShows(int lower) const {
  // Under the floor only a clear difference holds a run: the end of the climb, the step
  // back and the measurement after it alike. A local mixed run's 32 did two thirds of 16's page-cache-fast first
  // second twice; 16, measured again, did 1.15 x 32 and the run ended at 18.
  return lower < bounds_.floor ? kClearlyWorse : kKeepDoubling;
}

void ConcurrencyController::Recheck(double score) {
  // The lower limit was measured first, and a run's first seconds are often its easiest
  // (the page cache takes the first GiB at memory speed, a server's caches are warm for
  // the listing's keys): measured again, it may do no better than the higher did. Then
  // the difference was the time, not the limit, and the higher is kept.
  const int higher = recheck_;
  recheck_ = 0;
  if (score >= recheck_score_ * StepBackShows(limit_)) return;
  // Nothing then showed the climb should end: it goes on from the higher limit, judged
  // against what the lower does now (a floor for the higher). Each such turn ends a step
  // further up, so it cannot swing between two limits.
  base_score_ = score;
  base_limit_ = higher;
  if (Set(higher * 2) == higher) return;  // at the top
  phase_ = Phase::kSlowStart;
  look_ = 0;
}

void ConcurrencyController::Judge(double score) {
  probing_ = false;
  quiet_ = 0;
  settle_ = 1;
  // Kept when it bought at least half what the step would in proportion.
  const double step = static_cast<double>(limit_) / base_limit_ - 1;
  if (score >= base_score_ * std::max(kProbeGain, 1 + step / 4)) {
    probe_every_ = kProbeEvery;
    if (limit_ >= ceiling_) ceiling_ = 0;  // the old ceiling holds no more
    return;
  }
  probe_every_ = std::min(probe_every_ * 2, kMaxProbeEvery);
  recover_ = false;  // the room under the ceiling does not pay now: probe at the usual pace
  Set(base_limit_);
}

void ConcurrencyController::Probe(double score) {
  // Below where the server last pushed back, climb back at once and in larger steps,
  // until a step does not pay.
  const bool recovering = recover_ && ceiling_ > 0 && limit_ < ceiling_ - 1;
  if (++quiet_ < (recovering ? 1 : probe_every_)) return;
  int step = std::max(1, limit_ / 8);
  if (recovering) step = std::max(step, (ceiling_ - limit_) / 2);
  int next = limit_ + step;
  if (ceiling_ > 0 && next >= ceiling_) {
    next = since_ceiling_ >= kCeilingPeriods ? ceiling_ : ceiling_ - 1;
    if (next <= limit_) return;
  }
  base_score_ = score;
  base_limit_ = limit_;
  if (Set(next) == base_limit_) return;  // at the top
  probing_ = true;
  quiet_ = 0;
  settle_ = 1;
}

ConcurrencyTuner::ConcurrencyTuner(ConcurrencyController::Bounds bounds, Budget& budget, Stats& stats,
                                   Counter requests, Counter bytes, int min_ticks, Clock clock)
    : controller_(bounds),
      budget_(budget),
      stats_(stats),
      requests_(std::move(requests)),
      bytes_(std::move(bytes)),
      clock_(clock ? std::move(clock) : [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
      }),
      min_ticks_(std::max(1, min_ticks)),
      period_start_(clock_()) {
  budget_.SetLimit(controller_.limit());
  stats_.concurrency = controller_.limit();
  stats_.concurrency_peak = controller_.limit();
  stats_.concurrency_auto = true;
}

void ConcurrencyTuner::Tick() {
  busy_sum_ += budget_.used();
  ++ticks_;
  const uint64_t requests = requests_();
  const bool turned_over = requests - last_requests_ >= static_cast<uint64_t>(controller_.limit());
  if (ticks_ < min_ticks_ || (!turned_over && ticks_ < 4 * min_ticks_)) return;
  const double now = clock_();
  ControlSample s;
  s.seconds = now - period_start_;
  const uint64_t bytes = bytes_();
  const uint64_t throttled = stats_.throttled, timeouts = stats_.timeouts;
  // Requests finished, the work done: those started less the growth in flight. A raise
  // starts as many requests at once as it adds slots, none of them done yet; counted as
  // work, they made every doubling's first period look as if it paid (a server serving
  // one request at a time took a run from 16 to 256).
  const int used = budget_.used();
  const int64_t finished = static_cast<int64_t>(requests - last_requests_) - (used - last_used_);
  s.requests = static_cast<uint64_t>(std::max<int64_t>(0, finished));
  last_used_ = used;
  s.bytes = bytes - last_bytes_;
  s.throttled = throttled - last_throttled_;
  s.timeouts = timeouts - last_timeouts_;
  s.busy = busy_sum_ / ticks_;
  last_requests_ = requests;
  last_bytes_ = bytes;
  last_throttled_ = throttled;
  last_timeouts_ = timeouts;
  ticks_ = 0;
  busy_sum_ = 0;
  period_start_ = now;
  const int before = controller_.limit();
  const int limit = controller_.Update(s);
  spdlog::debug("concurrency auto: {:.2f} s at {} ({:.1f} held), {} requests, {} bytes, {} SlowDowns, {} timeouts → {}",
                s.seconds, before, s.busy, s.requests, s.bytes, s.throttled, s.timeouts, limit);
  budget_.SetLimit(limit);
  stats_.concurrency = limit;
  stats_.concurrency_peak = controller_.peak();
}

std::unique_ptr<ConcurrencyTuner> TuneConcurrency(bool adaptive, Budget& budget, Stats& stats, RunShell& shell,
                                                  ConcurrencyTuner::Counter requests, ConcurrencyTuner::Counter bytes) {
  if (!adaptive) {
    stats.concurrency = budget.total();
    stats.concurrency_peak = budget.total();
    return nullptr;
  }
  const int max = budget.total();
  const ConcurrencyController::Bounds bounds{2, std::min(kAutoStartConcurrency, max), max,
                                             kAutoLatencyFloor};
  auto tuner = std::make_unique<ConcurrencyTuner>(bounds, budget, stats, std::move(requests),
                                                  std::move(bytes));
  shell.OnTick([t = tuner.get()] { t->Tick(); });
  return tuner;
}

std::string DescribeConcurrency(bool adaptive, int concurrency) {
  return (adaptive ? "auto, up to " : "") + std::to_string(concurrency) + " requests in flight";
}

}  // namespace riptide::engine
