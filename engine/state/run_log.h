// The runs of one destination and the failures each recorded, in SQLite: in the
// manifest's database for a dataset directory, in a database of its own (beside the
// journal of open uploads) for a bucket. `riptide status` and the service read them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/job.h"
#include "transport/result.h"

struct sqlite3;

namespace riptide::engine {

struct RunRecord {
  int64_t id = 0;
  std::string source;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  uint64_t listed = 0, transferred = 0, skipped = 0, failed = 0, bytes = 0;
  std::string status;  // "running", "ok", "partial", "failed", "interrupted", "dry-run"
};

using FailureList = std::vector<std::pair<std::string, std::string>>;  // (key, reason)

/// The runs and failures tables of one database connection (not owned).
class RunLog {
 public:
  /// The tables, for a database's schema.
  static const char* Schema();
  explicit RunLog(sqlite3* db) : db_(db) {}

  Result<int64_t> Begin(const std::string& source);
  Status End(const RunRecord& run);
  /// Records a run's failures (at most the first 1,000).
  Status RecordFailures(int64_t run_id, const FailureList& failures);
  /// The latest `n` runs, newest first: dry runs only when one is the very latest, so
  /// plans never push real runs out of the history.
  Result<std::vector<RunRecord>> Recent(int n);
  /// The failures the latest finished run recorded.
  Result<FailureList> LastFailures();
  /// The status of the latest run ("" when none): "running" means it was killed.
  Result<std::string> LastStatus();
  /// Closes run `id` with the report's counts, outcome and failures; problems are warned
  /// about, not returned (the run itself is over).
  void Record(int64_t id, const SyncReport& report);

 private:
  sqlite3* db_;
};

/// The run log of copies into one bucket destination ("endpoint/bucket/prefix"): its
/// own database, STATE_DIR/runs-<id>.db, the id shared with the upload journal.
class CopyRunLog {
 public:
  static Result<std::unique_ptr<CopyRunLog>> Open(const std::string& state_dir, const std::string& destination,
                                                  const std::string& bucket_url);
  /// Every copy run log in `state_dir` whose destination is `bucket_url` (s3://b/p/),
  /// whatever its endpoint; each with its "endpoint/bucket/prefix".
  static Result<std::vector<std::pair<std::string, std::unique_ptr<CopyRunLog>>>> Find(const std::string& state_dir,
                                                                                        const std::string& bucket_url);
  ~CopyRunLog();
  RunLog& runs() { return runs_; }

 private:
  explicit CopyRunLog(sqlite3* db) : db_(db), runs_(db) {}
  sqlite3* db_;
  RunLog runs_;
};

/// The id of a destination's state files (upload journal, run log).
std::string DestinationId(const std::string& destination);

}  // namespace riptide::engine
