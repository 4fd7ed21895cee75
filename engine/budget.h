// A counting budget of objects in flight between plan and commit: the plan stage waits
// for a token, the commit stage returns it. It is what keeps memory flat.
#pragma once

#include <condition_variable>
#include <mutex>

namespace riptide::engine {

class Budget {
 public:
  explicit Budget(int tokens) : free_(tokens) {}

  /// Blocks until a token is free; false when cancelled instead.
  bool Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return free_ > 0 || cancelled_; });
    if (cancelled_) return false;
    --free_;
    return true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
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
  int free_;
  bool cancelled_ = false;
};

}  // namespace riptide::engine
