// Counters every stage updates, read by the progress line and the summary.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

struct ObjectFailure {
  std::string key;
  std::string reason;
};

/// One object's outcome, for whoever watches a run object by object (the service's history).
struct ObjectEvent {
  std::string key;  // where it lands: the source key for downloads, the destination key for copies
  uint64_t bytes = 0;
  bool ok = true;
  std::string reason;      // why it failed
  std::string source_key;  // the object read (empty for local files)
  std::string etag;        // the source object's ETag, as listed or HEADed
  bool unchanged = false;  // already in place: nothing was transferred
  bool gone = false;       // failed because the source object does not exist (NoSuchKey)
};
using ObjectFn = std::function<void(const ObjectEvent&)>;

/// --dry-run: one thing the run would do ("download", "copy", "upload", "delete"), from
/// where to where ("" for a delete's source).
struct PlannedAction {
  const char* verb;
  std::string from, to;
};
using PlannedFn = std::function<void(const PlannedAction&)>;

/// Adds the time from construction to destruction to a counter.
class ScopedTimer {
 public:
  explicit ScopedTimer(std::atomic<uint64_t>& sink) : sink_(sink), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    sink_.fetch_add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - start_)
                                              .count()),
                    std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t>& sink_;
  std::chrono::steady_clock::time_point start_;
};

class Stats {
 public:
  std::atomic<uint64_t> listed{0};
  std::atomic<uint64_t> planned{0};         // downloads decided
  std::atomic<uint64_t> planned_new{0};     // of which keys the dataset never had
  std::atomic<uint64_t> transferred{0};     // committed downloads
  std::atomic<uint64_t> skipped{0};         // unchanged
  std::atomic<uint64_t> failed{0};          // includes refused
  std::atomic<uint64_t> refused{0};         // keys that cannot be a local path
  std::atomic<uint64_t> gone{0};            // in the manifest, no longer in the bucket
  std::atomic<uint64_t> drifted{0};         // unchanged in the bucket, changed or missing locally
  std::atomic<uint64_t> excluded{0};        // left out by --include / --exclude
  std::atomic<uint64_t> bytes_planned{0};   // sizes of the objects planned for transfer
  std::atomic<uint64_t> size_verified_only{0};
  std::atomic<uint64_t> checksum_verified{0};  // proved by their own CRC/SHA (no MD5 computed)
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> throttled{0};       // of the retries, answers to slow down (503, SlowDown, 429)
  std::atomic<uint64_t> timeouts{0};        // of the retries, requests that timed out or stalled
  std::atomic<int> concurrency{0};          // requests allowed in flight now (moves with --concurrency auto)
  std::atomic<int> concurrency_peak{0};     // the highest it went
  bool concurrency_auto = false;            // set before the run: a ConcurrencyTuner moves it
  std::atomic<uint64_t> bytes_received{0};  // every body byte, retries included
  std::atomic<uint64_t> bytes_committed{0};
  std::atomic<uint64_t> bytes_resumed{0};   // found on disk from an interrupted run
  std::atomic<uint64_t> bytes_hashed_landing{0};  // hashed in rounds while their objects landed
  std::atomic<bool> listing_done{false};    // every object to transfer is planned: totals are final

  // Time spent per stage, summed over threads (ns): where a slow run spends itself.
  std::atomic<uint64_t> ns_budget_wait{0};  // plan waiting for a free slot
  std::atomic<uint64_t> ns_create{0};       // temp files: folders, create, fallocate
  std::atomic<uint64_t> ns_network{0};      // from submit to the last byte
  std::atomic<uint64_t> ns_verify{0};       // read back and hash
  std::atomic<uint64_t> ns_commit{0};       // mtime, rename, manifest rows
  std::atomic<uint64_t> ns_sync{0};         // syncfs + manifest transactions

  /// A request tried again after `e`.
  void CountRetry(const Error& e) {
    retries.fetch_add(1, std::memory_order_relaxed);
    if (e.http_status == 503 || e.http_status == 429 || e.s3_code == "SlowDown") {
      throttled.fetch_add(1, std::memory_order_relaxed);
    }
    if (e.timed_out || e.s3_code == "RequestTimeout") timeouts.fetch_add(1, std::memory_order_relaxed);
  }

  /// Set before the run starts; called from the stages' threads. Unchanged objects are
  /// reported too when asked (a sweep of a million unchanged keys calls it a million times).
  void WatchObjects(ObjectFn fn, bool with_unchanged = false) {
    on_object_ = std::move(fn);
    watch_unchanged_ = with_unchanged;
  }

  /// Set before the run starts; called from the plan thread only.
  void WatchPlanned(PlannedFn fn) { on_planned_ = std::move(fn); }
  /// --dry-run: an action the run would take, as it is planned.
  void Planned(const char* verb, std::string from, std::string to) {
    if (on_planned_) on_planned_({verb, std::move(from), std::move(to)});
  }

  /// One object is in place (downloaded, copied or uploaded) and proven. Its bytes are
  /// counted as they land (bytes_committed), part by part for copies.
  void AddTransferred(const std::string& key, uint64_t bytes, const std::string& source_key = {},
                      const std::string& etag = {}) {
    transferred.fetch_add(1, std::memory_order_relaxed);
    if (on_object_) on_object_({key, bytes, true, {}, source_key, etag, false});
  }

  /// One object found already in place, the same as its source.
  void AddUnchanged(const std::string& key, uint64_t bytes, const std::string& source_key, const std::string& etag) {
    skipped.fetch_add(1, std::memory_order_relaxed);
    if (on_object_ && watch_unchanged_) on_object_({key, bytes, true, {}, source_key, etag, true});
  }

  /// `source_key`: the object read, when it is not `key` (copies name the destination).
  /// `gone`: the source object does not exist.
  void AddFailure(std::string key, std::string reason, const std::string& source_key = {}, bool gone = false) {
    failed.fetch_add(1, std::memory_order_relaxed);
    if (on_object_) on_object_({key, 0, false, reason, source_key.empty() ? key : source_key, {}, false, gone});
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_.size() < kMaxKept) failures_.push_back({std::move(key), std::move(reason)});
  }

  /// A transfer that failed with `e`; a NoSuchKey marks the object gone.
  void AddFailure(std::string key, const Error& e, const std::string& source_key = {}) {
    AddFailure(std::move(key), e.ToString(), source_key, e.s3_code == "NoSuchKey");
  }
  std::vector<ObjectFailure> Failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  static constexpr size_t kMaxKept = 10000;  // the rest are counted only
  ObjectFn on_object_;
  PlannedFn on_planned_;
  bool watch_unchanged_ = false;
  mutable std::mutex mu_;
  std::vector<ObjectFailure> failures_;
};

}  // namespace riptide::engine
