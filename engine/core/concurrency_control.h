// --concurrency auto: how many requests a run keeps in flight, found while it runs.
//
// `ConcurrencyController` is the decision alone, a pure function of the samples it is
// fed (unit-tested on simulated servers): it starts low and doubles the limit while
// doing so buys throughput, or costs little while the latency stays within what the
// steady state keeps, looking twice before it stops (slow start); then it probes a
// little higher now and then and keeps a step only when it pays (additive increase),
// and cuts the limit by a factor at once when the server pushes back: a SlowDown, 503
// or 429, a timeout, or latency that rises with no throughput to show for it (by
// Little's law, more requests in flight at the same rate is exactly that). It never
// leaves [min, max]; max is what the memory limit affords. Under a floor, latency counts
// for nothing: only pushback, or a doubling that does clearly worse, holds it there.
//
// `ConcurrencyTuner` feeds it from a running job, on the RunShell's ticker: the bytes
// moved and requests finished since the last period, the throttles and timeouts among the
// retries, and how much of its limit the run really used, and moves the job's Budget.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace riptide::engine {

class Budget;
class RunShell;
class Stats;

/// --concurrency auto: the most a run may reach unless memory allows less.
inline constexpr int kAutoMaxConcurrency = 256;
/// --concurrency auto: where a run starts. Against s3rver on mixed sizes, runs that
/// started at 8 often ended at 8-16 and made 0.83 × the MB/s of a fixed 64, with the
/// server spending 1.4 × the CPU (it spends less a byte over more connections); from 16
/// they reach 64-128 (perf/RESULTS.md). Higher would meet a capped server with a burst
/// of SlowDowns in the first second.
inline constexpr int kAutoStartConcurrency = 16;
/// --concurrency auto: latency alone never holds a run under this many (a SlowDown still
/// does). Against s3rver on mixed sizes, runs that the latency rules held at 16-27 made
/// 0.8 x the MB/s of a fixed 64 in one sitting, with the server spending 1.4 x the CPU,
/// while fixed 64, 128 and 256 did alike (perf/RESULTS.md). The latency was the client's
/// own (writeback) and the first second's page cache, not a queue at the server; a
/// request in flight costs riptide a quarter MiB.
inline constexpr int kAutoLatencyFloor = 64;

/// What one period of a run showed.
struct ControlSample {
  double seconds = 1;     // the period's length
  uint64_t bytes = 0;     // body bytes moved (received or sent)
  uint64_t requests = 0;  // requests started
  uint64_t throttled = 0; // answers to slow down (SlowDown, 503, 429)
  uint64_t timeouts = 0;  // requests that timed out or stalled
  double busy = 0;        // mean slots held over the period
};

class ConcurrencyController {
 public:
  struct Bounds {
    int min = 2;
    int start = 8;
    int max = 256;
    // Latency alone (no pushback) neither cuts the limit below this nor ends slow start
    // under it, unless more in flight does clearly worse there (0: no floor; above max it
    // is max, since no limit passes max).
    int floor = 0;
  };
  explicit ConcurrencyController(Bounds bounds);

  /// The limit to use from now on, after one more period.
  int Update(const ControlSample& s);
  int limit() const { return limit_; }
  /// The highest limit used so far.
  int peak() const { return peak_; }

  /// A request costs a server about as much as moving this many bytes: the score mixes
  /// objects per second (small objects) and bytes per second (large) on one scale.
  static constexpr double kRequestBytes = 256 * 1024;
  /// A cut keeps this share of the limit.
  static constexpr double kBackOff = 0.7;

 private:
  enum class Phase { kSlowStart, kSteady };
  static double Score(const ControlSample& s);
  int Set(int limit);
  void Cut(bool pushback);  // pushback: the server refused (it sets the ceiling); else latency (clears it)
  void SlowStart(double score, double cost);
  void Judge(double score);  // the period after a probe
  void Recheck(double score);  // the period after slow start stepped back: stay, or climb on
  // How many times better the lower of two limits must do for slow start to step back to it
  // (and to stay there once measured again; under the floor, for the climb to end).
  double StepBackShows(int lower) const;
  void Probe(double score);
  // True when this period's work is of another shape than the recent one (then nothing
  // is judged and the comparisons start afresh).
  bool NewShape(const ControlSample& s, double score, double cost);
  // Steady: cuts when the mean cost of the last kWindow periods, all at this limit, is
  // kLatencyRise times the lowest seen; undoes a cut that left the cost where it was.
  // True when it changed the limit.
  bool LatencyRule();
  void Record(const ControlSample& s, double score);  // into the window
  double WindowCost() const;  // the window's mean cost, 0 unless all of it is at this limit

  const Bounds bounds_;
  int limit_;
  int peak_;
  Phase phase_ = Phase::kSlowStart;
  int settle_ = 1;           // periods to let pass before the next judgement
  int echo_ = 0;             // periods whose pushback is still the last cut's
  double base_score_ = 0;    // the score at the limit before the last step up
  int base_limit_ = 0;       // that limit (0: none yet)
  double look_ = 0;          // slow start: the score of a first period at this limit that did not pay
  double look_cost_ = 0;     // and its cost
  int recheck_ = 0;          // slow start stepped back from this limit: measure the lower again
  double recheck_score_ = 0; // the score that limit showed
  bool probing_ = false;     // steady: the limit is one step above base_limit_
  int quiet_ = 0;            // steady: periods since the last change
  int probe_every_ = 3;      // steady: periods between probes; doubles after one that did not pay
  int ceiling_ = 0;          // the limit the server last pushed back at (0: none)
  int since_ceiling_ = 0;    // periods since; the ceiling is tried again after a while
  bool recover_ = false;     // the last cut was pushback: climb back to under the ceiling at once
  double min_cost_ = 0;      // the lowest slots held per unit of score seen (Little's law)
  int min_cost_limit_ = 0;   // the limit it was seen at
  // The last periods judged, for the latency rule: one half second of a mixed run moves
  // anything from 100 to 480 MB at the same limit, so a single period's cost is noise.
  static constexpr int kWindow = 3;
  struct Period {
    double busy = 0, score = 0;  // both times the period's seconds
    int limit = 0;
  };
  Period window_[kWindow];
  int recorded_ = 0;          // periods recorded since the last reset (the window holds the last kWindow)
  double cut_cost_ = 0;       // the window's mean cost when latency last cut (0: no cut to check)
  int cut_from_ = 0;          // the limit it cut from
  double shape_ = 0;         // recent mean of bytes per request (weight included)
};

/// Drives a controller from a running job and moves `budget`'s limit. Call Tick at a
/// fixed interval. A period is at least `min_ticks` ticks and lasts until every slot
/// could have turned over (requests started ≥ the limit), or 4 × `min_ticks`:
/// short where requests are quick, so the limit finds its level within seconds, long
/// enough where they are large parts to see more than noise.
class ConcurrencyTuner {
 public:
  using Counter = std::function<uint64_t()>;
  using Clock = std::function<double()>;  // seconds, steadily
  /// `requests` counts requests started by all the job's transports; `bytes` the body
  /// bytes moved. `clock` null: the steady clock.
  ConcurrencyTuner(ConcurrencyController::Bounds bounds, Budget& budget, Stats& stats, Counter requests,
                   Counter bytes, int min_ticks = 5, Clock clock = nullptr);
  void Tick();
  const ConcurrencyController& controller() const { return controller_; }

 private:
  ConcurrencyController controller_;
  Budget& budget_;
  Stats& stats_;
  Counter requests_, bytes_;
  Clock clock_;
  const int min_ticks_;
  int ticks_ = 0;
  double busy_sum_ = 0;
  uint64_t last_requests_ = 0, last_bytes_ = 0, last_throttled_ = 0, last_timeouts_ = 0;
  int last_used_ = 0;  // slots held when the period began
  double period_start_;
};

/// A run's concurrency: fixed (`adaptive` false) is the budget's total, recorded in the
/// stats; auto starts low and is tuned on the shell's ticks up to that total. The tuner
/// returned (null when fixed) must outlive the shell's Run.
std::unique_ptr<ConcurrencyTuner> TuneConcurrency(bool adaptive, Budget& budget, Stats& stats, RunShell& shell,
                                                  ConcurrencyTuner::Counter requests, ConcurrencyTuner::Counter bytes);

/// "64 requests in flight" or "auto, up to 256 requests in flight", for a run's first log line.
std::string DescribeConcurrency(bool adaptive, int concurrency);

}  // namespace riptide::engine
