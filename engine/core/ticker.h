// A thread that calls a function at a fixed interval: progress lines, and noticing a
// stop request while the rest of the run is blocked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace riptide::engine {

// Runs `fn` every `interval` on its own thread until destroyed.
class Ticker {
 public:
  explicit Ticker(std::function<void()> fn, std::chrono::milliseconds interval = std::chrono::milliseconds(500))
      : fn_(std::move(fn)), interval_(interval) {
    if (fn_) thread_ = std::thread([this] { Loop(); });
  }
  ~Ticker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return done_; })) {
      lock.unlock();
      fn_();
      lock.lock();
    }
  }
  std::function<void()> fn_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace riptide::engine
