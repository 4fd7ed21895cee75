// A counting budget of request slots in flight between plan and commit: the plan stage
// waits for an object's slots (one per part it may fetch at once), the commit stage
// returns them. It bounds requests, open files and memory whatever the bucket size.
// A budget may draw on a parent shared by several jobs (a service's requests in flight
// and memory): every token taken here is then taken there too.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

namespace riptide::engine {

class Budget {
 public:
  explicit Budget(int tokens, Budget* parent = nullptr)
      : total_(tokens), free_(tokens), limit_(tokens), parent_(parent) {}
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  int total() const { return total_; }
  /// Tokens that may be taken at once now, ≤ total (--concurrency auto moves it).
  int limit() const { return limit_.load(std::memory_order_relaxed); }
  /// Lowering it takes effect as tokens come back; nothing taken is called in.
  void SetLimit(int limit);

  /// Blocks until `n` (≤ total) tokens are free here and in the parent; false when
  /// cancelled instead.
  bool Acquire(int n = 1);
  /// Takes `n` tokens if they are free now, here and in the parent; never waits.
  bool TryAcquire(int n = 1);
  void Release(int n = 1);
  /// Wakes every waiter with false, here and (within a poll) in the parent.
  void Cancel();
  /// Tokens taken now (for tests and metrics).
  int used() const;

 private:
  // Room for `n` within the limit; one wider than the limit (it was planned before the
  // limit fell) goes alone. Called with mu_ held.
  bool Fits(int n) const;
  // A child's waiter polls its own cancel while it waits here: a parent is never cancelled.
  bool AcquireUnless(int n, const std::atomic<bool>& abort);
  void GiveBack(int n);
  // An object wider than the whole shared limit takes all of it, not more.
  int ParentShare(int n) const { return std::min(n, parent_->total()); }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  const int total_;
  int free_;
  std::atomic<int> limit_;
  std::atomic<bool> cancelled_{false};
  Budget* const parent_;
};

}  // namespace riptide::engine
