// The oneTBB arena a run's graph and its background tasks (hashing, file reads) share.
#pragma once

#include <oneapi/tbb/task_arena.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>

namespace riptide::engine {

class WorkArena {
 public:
  /// A thread a core (at least two). Nothing in the graph waits for long: admission
  /// through the budget is the feeder's, the network the transport's, durability the
  /// syncer's, each on a thread of its own. Every extra worker spins (oneTBB: up to a
  /// hundred sched_yield calls) each time the graph runs dry, which small objects make it
  /// do after nearly every one: cores + 2 cost `small` about a sixth more CPU for no more
  /// objects a second. The process runtime allows that many.
  WorkArena();
  /// Waits for the background tasks still queued or running.
  ~WorkArena() { WaitForBackground(); }
  WorkArena(const WorkArena&) = delete;
  WorkArena& operator=(const WorkArena&) = delete;

  template <typename F>
  void Execute(F&& f) {
    arena_.execute(std::forward<F>(f));
  }
  /// Runs `task` in the arena, off the caller's thread (the transport's, typically);
  /// counted, so the arena outlives it.
  void Enqueue(std::function<void()> task);
  /// Returns once every task enqueued so far has run.
  void WaitForBackground();

  /// The arena's threads: one a core, at least 2.
  static int Threads();

 private:
  oneapi::tbb::task_arena arena_;
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;  // guarded by mu_
};

}  // namespace riptide::engine
