// `riptide status` and `riptide verify`: what a dataset's manifest says, and whether
// the files still match it.
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "engine/state/dataset.h"
#include "engine/state/manifest.h"
#include "transport/result.h"

namespace riptide::engine {

/// DIR/.riptide, or `state_dir` when given; an error unless a manifest is there.
Result<std::string> ExistingStateDir(const std::string& dataset_dir, const std::string& state_dir);
/// Every manifest of a dataset: its state directory's, then each shard's
/// (STATE_DIR/shards/I-of-N) in range order; an error when there is none.
Result<std::vector<std::string>> ManifestDirs(const std::string& dataset_dir, const std::string& state_dir);

struct StatusReport {
  Manifest::Totals totals;
  std::vector<RunRecord> runs;  // newest first
  std::vector<std::pair<std::string, std::string>> last_failures;
};
Result<StatusReport> ReadStatus(const std::string& dataset_dir, const std::string& state_dir);

/// The runs of copies into a bucket destination, per endpoint it was reached at.
struct CopyStatusReport {
  std::string destination;       // "endpoint/bucket/prefix"
  std::vector<RunRecord> runs;   // newest first
  FailureList last_failures;
};
/// Copy runs recorded under `state_dir` for `bucket_url` (s3://BUCKET/PREFIX/); an error
/// when none were.
Result<std::vector<CopyStatusReport>> ReadCopyStatus(const std::string& state_dir, const std::string& bucket_url);

struct VerifyReport {
  uint64_t checked = 0;
  uint64_t bytes = 0;
  std::vector<std::string> missing;  // in the manifest, not on disk (paths)
  std::vector<std::string> changed;  // on disk, but size or XXH3 differ
  std::vector<std::string> extra;    // on disk, not in the manifest
  double seconds = 0;
  bool clean() const { return missing.empty() && changed.empty() && extra.empty(); }
};
/// Writes the manifest as CSV (key,size,etag,last_modified,xxh3,synced_at; RFC 4180
/// quoting, times in UTC ISO 8601) to `out`, in key order.
Status ExportCsv(const std::string& dataset_dir, const std::string& state_dir, std::FILE* out);

/// Whether the file at `path` still holds what was recorded: kMissing when it cannot be
/// opened, kChanged when its size or XXH3-128 differ.
enum class LocalCopy { kSame, kChanged, kMissing };
LocalCopy CheckLocalCopy(Dataset& dataset, const std::string& path, uint64_t size, const std::string& xxh3);

/// Re-hashes every file the manifest names (XXH3-128, in parallel) and looks for files
/// it does not name. Takes the dataset's lock, so it never races a sync.
Result<VerifyReport> VerifyDataset(const std::string& dataset_dir, const std::string& state_dir);

}  // namespace riptide::engine
