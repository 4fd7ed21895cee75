// The service's core: one queue per job, the dispatcher that fires schedules and starts
// queued runs, and the runs themselves, each the same job the CLI runs. Runs of one job
// never overlap; a trigger while a run is queued joins that run (triggers coalesce); a
// trigger while one runs queues the next.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "apps/serve/event_store.h"
#include "apps/serve/object_sink.h"
#include "apps/serve/serve_config.h"
#include "apps/serve/service_store.h"
#include "engine/core/budget.h"
#include "engine/core/runtime.h"

namespace riptide::serve {

/// A running run's counters, refreshed twice a second.
struct LiveCounters {
  uint64_t listed = 0, transferred = 0, skipped = 0, failed = 0, bytes = 0, retries = 0, throttled = 0;
  double seconds = 0;
  int concurrency = 0;  // requests allowed in flight now (moves with concurrency: auto)
};

struct JobView {
  const ServeJob* job = nullptr;
  std::string state;  // idle, queued, running
  int64_t running = 0, queued = 0;  // run ids, 0 for none
  std::optional<Clock::time_point> next;
  int concurrency = 0;  // of the running run: requests allowed in flight now; 0 when none runs
};

class Service {
 public:
  Service(const ServeConfig& config, ServiceStore& store, EventStore& events, const engine::ProcessRuntime& runtime,
          const s3::ConfigSources& sources);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  /// Marks runs a previous process left running as interrupted, queues a startup run
  /// for each job never synced or interrupted, and starts the dispatcher.
  Status Start();

  struct Triggered {
    int64_t run_id = 0;
    bool coalesced = false;  // joined a run already queued
  };
  /// Queues a run of `job` ("manual", "schedule", "startup"). kNotFound for an unknown
  /// job, kCancelled while shutting down.
  Result<Triggered> Trigger(const std::string& job, const std::string& trigger);

  /// Stores a delivery's notices for the jobs they match (on_event jobs whose source
  /// covers the bucket and key) and queues an event run of each; stored before it returns.
  Result<Receipt> Receive(const std::vector<Notice>& notices);
  /// Notices one event run takes at most: a burst becomes a few runs of many keys.
  static constexpr int kEventBatch = 10000;

  enum class CancelOutcome { kCancelled, kNotFound, kAlreadyEnded };
  CancelOutcome Cancel(int64_t run_id);

  std::vector<JobView> Jobs() const;
  std::optional<LiveCounters> Live(int64_t run_id) const;
  int Running() const;
  /// Request slots the running jobs hold now, of the service's concurrency.
  int RequestsInFlight() const { return shared_requests_.used(); }

  /// Stops firing and starting runs, cancels the running ones (they record themselves
  /// as interrupted) and waits up to `timeout`. False when some run did not end in time.
  bool Shutdown(std::chrono::seconds timeout);

  const ServeConfig& config() const { return config_; }
  ServiceStore& store() { return store_; }
  EventStore& events() { return events_; }

 private:
  struct LiveRun;
  struct Slot {
    const ServeJob* job = nullptr;
    int64_t queued = 0;
    std::string queued_trigger;
    std::shared_ptr<LiveRun> running;
    std::thread worker;
    std::optional<Clock::time_point> next;
  };

  Result<Triggered> TriggerLocked(Slot& slot, const std::string& trigger);
  void Dispatch();
  void Execute(Slot& slot, int64_t run_id, std::shared_ptr<LiveRun> live);
  // A sweep or scheduled run: the job as configured (a move job's copies copy everything).
  Result<engine::SyncReport> RunWhole(const ServeJob& job, const std::shared_ptr<LiveRun>& live);
  // An event run: the notices pending for the job, as one key list; removals after.
  Result<engine::SyncReport> RunEvents(Slot& slot, int64_t run_id, const std::shared_ptr<LiveRun>& live);
  // Runs resolved options on a host whose objects also reach a sink (moves, files).
  Result<engine::SyncReport> RunWithSink(const ServeJob& job, const engine::JobOptions& options,
                                         const std::shared_ptr<LiveRun>& live, bool keep_outcomes,
                                         std::map<std::string, ObjectOutcome>* outcomes);
  // Removed objects: the destination copies of source keys that are gone.
  std::map<std::string, NoticeOutcome> RemoveCopies(const ServeJob& job, const std::vector<ClaimedNotice>& removed,
                                                    engine::SyncReport& report);
  // A host for one run: its cancel flag, live counters, object log and the shared limits.
  engine::JobHost HostFor(const std::shared_ptr<LiveRun>& live);
  // Closes a run in the store with its objects and outcome.
  void Record(const ServeJob& job, int64_t run_id, LiveRun& live, const Result<engine::SyncReport>& report);

  const ServeConfig& config_;
  ServiceStore& store_;
  EventStore& events_;
  const engine::ProcessRuntime& runtime_;
  const s3::ConfigSources& sources_;
  engine::Budget shared_requests_;    // every job's requests draw on it
  engine::Budget shared_memory_mib_;  // and their part bodies
  std::shared_ptr<http::RateLimiter> send_limit_, receive_limit_;  // bwlimit, all jobs together (may be null)
  // Resolves a job's spec with the service's shared bandwidth limits applied.
  Result<engine::JobOptions> Resolve(const engine::JobSpec& spec);
  mutable std::mutex mu_;  // guards the slots and what follows
  std::condition_variable cv_;
  std::map<std::string, Slot> slots_;
  int running_ = 0;
  bool stopping_ = false;
  std::thread dispatcher_;
};

}  // namespace riptide::serve
