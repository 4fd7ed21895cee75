// The shell every job runs in, written once: the stop flag its stages read, the first
// fatal error, the ticker that turns a cancel into a stop and drives the progress line,
// the clock, and the report's common fields.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/core/job.h"
#include "engine/core/ticker.h"

namespace riptide::engine {

class RunShell {
 public:
  RunShell(const JobHost& host, const Stats& stats);
  RunShell(const RunShell&) = delete;
  RunShell& operator=(const RunShell&) = delete;

  /// Set once the run must stop: cancelled from outside, or a fatal error. Stages read it.
  std::atomic<bool>& stop() { return stop_; }
  /// The stop flag, or a cancel the ticker has not passed on yet (after Run, too).
  bool stopping() const { return stop_ || host_.cancel.cancelled(); }
  /// Records the run's first fatal error (later ones are dropped) and stops the run.
  void Fail(Error e);
  /// Runs on the ticker's thread once the run is stopping: cancel budgets, transports.
  void OnStop(std::function<void()> fn) { on_stop_.push_back(std::move(fn)); }
  /// Runs on the ticker's thread every tick (a tenth of a second) until the run stops.
  void OnTick(std::function<void()> fn) { on_tick_.push_back(std::move(fn)); }

  /// Runs `body` with the ticker going: progress twice a second, cancels noticed.
  template <typename F>
  auto Run(F&& body) {
    Ticking ticking(*this);
    return body();
  }

  std::optional<Error> fatal() const;
  /// Stopped from outside, with no fatal error of its own.
  bool interrupted() const { return host_.cancel.cancelled() && !fatal(); }
  double seconds() const;
  /// The common fields: counters from the stats, fatal, interrupted, seconds.
  void Fill(SyncReport& report) const;

 private:
  void Tick();
  class Ticking {  // the ticker thread, for the length of Run
   public:
    explicit Ticking(RunShell& shell);
    ~Ticking();

   private:
    std::unique_ptr<Ticker> ticker_;
  };

  const JobHost& host_;
  const Stats& stats_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> stop_{false};
  int ticks_ = 0;  // ticker thread only
  std::vector<std::function<void()>> on_stop_;  // set before Run, read by the ticker
  std::vector<std::function<void()>> on_tick_;  // the same
  mutable std::mutex fatal_mu_;
  std::optional<Error> fatal_;  // guarded by fatal_mu_
};

}  // namespace riptide::engine
