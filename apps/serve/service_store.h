// The service's own history in SQLite (STATE_DIR/service.db): every run it was asked for,
// why (schedule, manual, startup), what it did, and the objects each run transferred or
// failed. It survives restarts: runs a restart cut short are marked interrupted, runs
// still queued stay queued.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/job.h"
#include "transport/result.h"

struct sqlite3;

namespace riptide::serve {

struct RunRow {
  int64_t id = 0;
  std::string job;
  std::string trigger;  // "schedule", "manual", "startup", "event"
  std::string kind;     // "initial" or "incremental" ("" until it starts)
  std::string state;    // queued, running, ok, partial, failed, interrupted, cancelled, dry-run
  int64_t triggers = 1;  // requests this run answers: triggers during a queue coalesce
  int64_t received_ms = 0, started_ms = 0, ended_ms = 0;
  uint64_t listed = 0, transferred = 0, skipped = 0, failed = 0, deleted = 0, bytes = 0, retries = 0;
  uint64_t throttled = 0;  // of the retries, answers to slow down
  std::string error;  // the fatal error, if any
};

struct ObjectRow {
  std::string key;
  bool ok = true;
  uint64_t bytes = 0;
  int64_t at_ms = 0;
  std::string reason;
};

/// Upper bounds (seconds) of the run-duration histogram's buckets.
inline constexpr std::array<int, 8> kDurationBuckets = {1, 5, 15, 60, 300, 900, 3600, 14400};

/// Per job, summed over its finished runs: what /events/stats and /metrics show. Summed
/// by SQLite: a scrape costs the same after a year of runs as after a day.
struct JobTotals {
  std::map<std::string, uint64_t> runs_by_state;                         // ok, partial, failed, …
  std::map<std::pair<std::string, bool>, uint64_t> runs_by_trigger;      // (trigger, succeeded)
  uint64_t transferred = 0, failed = 0, bytes = 0, retries = 0, deleted = 0, throttled = 0;
  int64_t last_success_ms = 0;
  std::array<uint64_t, kDurationBuckets.size()> runs_within{};  // runs that took ≤ each bucket (cumulative)
  uint64_t timed_runs = 0;    // runs with a start and an end
  double run_seconds = 0;     // their durations, summed
};

class ServiceStore {
 public:
  static Result<std::unique_ptr<ServiceStore>> Open(const std::string& state_dir);
  ~ServiceStore();

  /// Runs left "running" by a process that is gone become "interrupted"; their ids.
  Result<std::vector<int64_t>> RecoverInterrupted();
  /// The queued run of each job and its trigger (a restart keeps them).
  Result<std::map<std::string, std::pair<int64_t, std::string>>> Queued();
  /// A queued run answers a weightier trigger too (a sweep asked while events wait).
  Status Retrigger(int64_t id, const std::string& trigger);

  Result<int64_t> Enqueue(const std::string& job, const std::string& trigger);
  /// One more trigger answered by a queued run.
  Status Coalesce(int64_t id);
  Status Start(int64_t id, const std::string& kind);
  /// Closes a run that ran, with its counts; `state` is normally report.Outcome().
  Status Finish(int64_t id, const engine::SyncReport& report, const std::string& state, const std::string& error);
  /// Closes a run that never ran (cancelled while queued, or its job failed to resolve).
  Status Close(int64_t id, const std::string& state, const std::string& error);
  /// Keeps the first `kMaxObjects` objects of a run.
  Status RecordObjects(int64_t id, const std::vector<ObjectRow>& objects);
  static constexpr size_t kMaxObjects = 5000;

  Result<std::optional<RunRow>> Get(int64_t id);
  /// Newest first; `job` empty for all.
  Result<std::vector<RunRow>> Recent(const std::string& job, int limit, int offset);
  Result<int64_t> CountRuns();
  Result<std::vector<ObjectRow>> Objects(int64_t id, int limit);
  /// True when the job has a run that finished ok or partial: the next is incremental.
  Result<bool> HasSynced(const std::string& job);
  Result<std::map<std::string, JobTotals>> Totals();
  /// A write to the database: true when it is writable.
  Status Probe();

 private:
  explicit ServiceStore(sqlite3* db) : db_(db) {}
  std::mutex mu_;  // one connection, used from the HTTP and runner threads
  sqlite3* db_;
};

}  // namespace riptide::serve
