// Counters every stage updates, read by the progress line and the summary.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace riptide::engine {

struct ObjectFailure {
  std::string key;
  std::string reason;
};

class Stats {
 public:
  std::atomic<uint64_t> listed{0};
  std::atomic<uint64_t> planned{0};         // downloads decided
  std::atomic<uint64_t> transferred{0};     // committed downloads
  std::atomic<uint64_t> skipped{0};         // unchanged
  std::atomic<uint64_t> failed{0};          // includes refused
  std::atomic<uint64_t> refused{0};         // keys that cannot be a local path
  std::atomic<uint64_t> gone{0};            // in the manifest, no longer in the bucket
  std::atomic<uint64_t> size_verified_only{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> bytes_received{0};  // every body byte, retries included
  std::atomic<uint64_t> bytes_committed{0};

  void AddFailure(std::string key, std::string reason) {
    failed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_.size() < kMaxKept) failures_.push_back({std::move(key), std::move(reason)});
  }
  std::vector<ObjectFailure> Failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  static constexpr size_t kMaxKept = 10000;  // the rest are counted only
  mutable std::mutex mu_;
  std::vector<ObjectFailure> failures_;
};

}  // namespace riptide::engine
