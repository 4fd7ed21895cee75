// A counting budget of request slots in flight between plan and commit: the plan stage
// waits for an object's slots (one per part it may fetch at once), the commit stage
// returns them. It bounds requests, open files and memory whatever the bucket size.
#pragma once

#include <condition_variable>
#include <mutex>

namespace riptide::engine {

class Budget {
 public:
  explicit Budget(int tokens) : total_(tokens), free_(tokens) {}

  int total() const { return total_; }

  /// Blocks until `n` (≤ total) tokens are free; false when cancelled instead.
  bool Acquire(int n = 1) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return free_ >= n || cancelled_; });
    if (cancelled_) return false;
    free_ -= n;
    return true;
  }
  /// Takes `n` tokens if they are free now; never waits.
  bool TryAcquire(int n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || free_ < n) return false;
    free_ -= n;
    return true;
  }
  void Release(int n = 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_ += n;
    }
    cv_.notify_one();
  }
  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int total_;
  int free_;
  bool cancelled_ = false;
};

}  // namespace riptide::engine
