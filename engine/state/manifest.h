// The manifest: SQLite (WAL) in the state directory. One row per object, and runs.
#pragma once

#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/state/run_log.h"
#include "planner/diff.h"
#include "transport/result.h"

struct sqlite3;

namespace riptide::engine {

/// One committed object, as the manifest records it.
struct ObjectRow {
  std::string key;
  std::string path;  // relative to the dataset directory
  uint64_t size = 0;
  std::string etag;
  int64_t last_modified_ms = 0;
  std::string xxh3;            // XXH3-128 of the content, hex
  int64_t local_mtime_ns = 0;  // the file's mtime as set at commit
  std::string verified_by;     // "md5", "md5-parts", "size", "folder", or the checksum ("crc64nvme", …)
  int64_t synced_at_ms = 0;    // when it was recorded (set by Upsert)
};

class Manifest {
 public:
  /// Opens (creating) STATE_DIR/manifest.db. Two connections: one reads in key order for
  /// the diff (plan thread), one writes batches (commit thread).
  static Result<std::unique_ptr<Manifest>> Open(const std::string& state_dir);
  ~Manifest();

  /// Records `source` on first use; refuses a dataset mirrored from another source.
  Status BindSource(const std::string& source);

  /// A cursor over the rows in key order, read in chunks (no long read transaction).
  std::unique_ptr<planner::ManifestCursor> Cursor();

  /// Upserts every row in one transaction.
  Status Upsert(const std::vector<ObjectRow>& rows);

  RunLog& runs() { return runs_; }
  Result<int64_t> BeginRun(const std::string& source) { return runs_.Begin(source); }
  Status EndRun(const RunRecord& run) { return runs_.End(run); }

  /// Removes the rows of `keys` in one transaction (after their files were deleted).
  Status Delete(const std::vector<std::string>& keys);

  /// The status of the latest run before this one ("" when none): "running" means it
  /// was killed.
  Result<std::string> LastRunStatus() { return runs_.LastStatus(); }

  /// For `riptide status` and `riptide verify` (read only).
  struct Totals {
    std::string source;
    uint64_t objects = 0;
    uint64_t bytes = 0;
  };
  Result<Totals> GetTotals();
  /// The latest `n` runs, newest first.
  Result<std::vector<RunRecord>> RecentRuns(int n) { return runs_.Recent(n); }
  /// Calls `fn` for every row in key order, `chunk` rows at a time.
  Status ForEachChunk(size_t chunk, const std::function<void(std::vector<ObjectRow>&)>& fn);
  /// True when some row's path is `path`.
  Result<bool> HasPath(const std::string& path);
  /// The failures the latest finished run recorded (key, reason).
  Result<FailureList> LastFailures() { return runs_.LastFailures(); }
  /// Records a run's failures (at most the first 1,000).
  Status RecordFailures(int64_t run_id, const FailureList& failures) { return runs_.RecordFailures(run_id, failures); }

 private:
  Manifest(sqlite3* reader, sqlite3* writer) : reader_(reader), writer_(writer), runs_(writer) {}
  sqlite3* reader_;
  sqlite3* writer_;
  RunLog runs_;  // over the writer connection
};

}  // namespace riptide::engine
