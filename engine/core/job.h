// What every job shares, whatever its direction: what it is handed by whoever runs it
// (the CLI, the service, a test) and the report it hands back.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/stats.h"
#include "transport/http/transport.h"
#include "transport/result.h"

namespace riptide::engine {

class Budget;

/// A read-only view of a stop request: a signal in the CLI, a cancel in the service.
/// Jobs only read it; a job's own fatal errors stop it through its RunShell instead.
class CancelToken {
 public:
  CancelToken() = default;  // never cancelled
  explicit CancelToken(const std::atomic<bool>* flag) : flag_(flag) {}
  bool cancelled() const { return flag_ && flag_->load(std::memory_order_relaxed); }

 private:
  const std::atomic<bool>* flag_ = nullptr;
};

/// Called about twice a second while the run goes on (for a progress line).
using ProgressFn = std::function<void(const Stats&, double seconds)>;

/// What a job is handed by the process that runs it. Process-wide set-up (curl, rlimits,
/// oneTBB, logging) is the runtime's, done once before any job; a job touches no global.
struct JobHost {
  http::TransportFactory transports;  // one transport per endpoint the job talks to
  CancelToken cancel;
  ProgressFn progress;                // may be empty
  ObjectFn on_object;                 // may be empty: each object's outcome as it lands
  // Limits shared with other jobs of the process (the service's); null: the job's own only.
  Budget* shared_requests = nullptr;    // requests in flight
  Budget* shared_memory_mib = nullptr;  // MiB of part bodies held (copies and uploads)
  bool report_unchanged = false;        // on_object hears of objects already in place too
  PlannedFn on_planned = nullptr;       // may be empty: --dry-run's actions, as planned
};

struct SyncReport {
  uint64_t listed = 0, transferred = 0, skipped = 0, failed = 0, refused = 0, gone = 0;
  uint64_t size_verified_only = 0, retries = 0, bytes = 0, bytes_resumed = 0;
  uint64_t checksum_verified = 0;  // proved by the object's own full-object checksum
  uint64_t bytes_hashed_landing = 0;  // hashed in rounds beside other objects while they landed
  uint64_t throttled = 0;  // of the retries, answers to slow down
  uint64_t drifted = 0, deleted = 0, excluded = 0;
  uint64_t requests = 0;  // HTTP requests sent, retries included
  int concurrency = 0, concurrency_peak = 0;  // requests allowed in flight at the end, and at most
  bool concurrency_auto = false;              // found while running (--concurrency auto)
  bool dry_run = false;
  bool to_bucket = false;  // a copy into a bucket: `gone` counts destination objects the source lacks
  uint64_t would_transfer = 0, would_transfer_bytes = 0, would_delete = 0;  // --dry-run
  uint64_t would_transfer_new = 0;  // of would_transfer, keys the dataset never had
  double seconds = 0;
  std::vector<ObjectFailure> failures;
  std::optional<Error> fatal;  // the run stopped early (listing failed, disk full, …)
  bool interrupted = false;

  /// The word a run record keeps: interrupted, failed, dry-run (a plan that could list,
  /// whatever it found), partial or ok.
  std::string Outcome() const {
    return interrupted ? "interrupted" : fatal ? "failed" : dry_run ? "dry-run" : failed ? "partial" : "ok";
  }
};

/// The counters every run reports, from its stats: objects, bytes, retries, failures
/// and (for a dry run) what would be transferred.
void FillFromStats(SyncReport& report, const Stats& stats);

}  // namespace riptide::engine
