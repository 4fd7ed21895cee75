#include "engine/core/work_arena.h"

#include <algorithm>
#include <thread>

namespace riptide::engine {

int WorkArena::Threads() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(2, cores);
}

WorkArena::WorkArena()
    : arena_(Threads()) {}

void WorkArena::Enqueue(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_;
  }
  arena_.enqueue([this, task = std::move(task)] {
    task();
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) cv_.notify_all();
  });
}

void WorkArena::WaitForBackground() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return pending_ == 0; });
}

}  // namespace riptide::engine
