#include "engine/core/budget.h"

#include <chrono>

namespace riptide::engine {

void Budget::SetLimit(int limit) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    limit_ = std::clamp(limit, 1, total_);
  }
  cv_.notify_all();
}

bool Budget::Acquire(int n) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return Fits(n) || cancelled_; });
    if (cancelled_) return false;
    free_ -= n;
  }
  if (parent_ && !parent_->AcquireUnless(ParentShare(n), cancelled_)) {
    GiveBack(n);
    return false;
  }
  return true;
}

bool Budget::TryAcquire(int n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || !Fits(n)) return false;
    free_ -= n;
  }
  if (parent_ && !parent_->TryAcquire(ParentShare(n))) {
    GiveBack(n);
    return false;
  }
  return true;
}

void Budget::Release(int n) {
  GiveBack(n);
  if (parent_) parent_->Release(ParentShare(n));
}

void Budget::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

int Budget::used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_ - free_;
}

bool Budget::Fits(int n) const {
  const int used = total_ - free_;
  return free_ >= n && (used + n <= limit_ || used == 0);
}

bool Budget::AcquireUnless(int n, const std::atomic<bool>& abort) {
  std::unique_lock<std::mutex> lock(mu_);
  while (free_ < n) {
    if (abort || cancelled_) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  free_ -= n;
  return true;
}

void Budget::GiveBack(int n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_ += n;
  }
  cv_.notify_all();
}

}  // namespace riptide::engine
