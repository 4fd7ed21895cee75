// `riptide bench`: how fast a bucket answers at each concurrency and part size, measured
// on a sample of its own objects (downloads) or on scratch objects of the same sizes
// (uploads). Nothing goes into a dataset: bodies are counted and dropped, or written to
// a folder of throw-away files when the disk is to be part of the figure.
//
// A cell is one point of the grid (a size class, a concurrency, a part size, a
// direction). It keeps exactly `concurrency` requests in flight through the transport,
// retries as a run would (counting SlowDowns and timeouts), and ends when its time is up,
// its sample is done, or the server pushes back on more than a share of its requests.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/listing.h"
#include "transport/s3/object_info.h"

namespace riptide::engine::bench {

enum class SizeClass { kSmall, kMedium, kLarge };
inline constexpr uint64_t kSmallBelow = 1ull << 20;  // one GET or PUT each: objects/s is the figure
inline constexpr uint64_t kLargeFrom = 64ull << 20;
const char* ClassName(SizeClass c);
SizeClass ClassOf(uint64_t size);

struct Sample {
  std::array<std::vector<s3::ObjectInfo>, 3> objects;  // by SizeClass
  uint64_t listed = 0;
  std::array<uint64_t, 3> listed_bytes{};  // what the listing held of each class
};

/// Lists `prefix` (at most `max_listed` keys) and keeps up to `per_class` objects of each
/// class, an even random choice (reservoir sampling with a fixed seed: the same listing
/// gives the same sample).
Result<Sample> SampleObjects(const ListTarget& target, const std::string& prefix, size_t per_class,
                             int list_concurrency, uint64_t max_listed);

struct Cell {
  SizeClass size_class = SizeClass::kSmall;
  int concurrency = 8;
  uint64_t part_size = 16ull << 20;  // small objects go whole whatever it is
  bool upload = false;
};

struct CellResult {
  Cell cell;
  double seconds = 0, cpu_seconds = 0;
  uint64_t bytes = 0, objects = 0, requests = 0, retries = 0, slowdowns = 0, timeouts = 0, errors = 0;
  double ttfb_p50_ms = 0, ttfb_p99_ms = 0;  // from a request's start to its response's headers
  std::string stopped;                      // why it ended early; empty when it ran its course
  std::vector<s3::UploadInfo> open_uploads;  // uploads begun and not completed (an interrupted cell's)
  double MegabytesPerSecond() const { return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0; }
  double ObjectsPerSecond() const { return seconds > 0 ? static_cast<double>(objects) / seconds : 0; }
};

struct CellOptions {
  double duration_s = 15;
  std::string to_dir;             // downloads: bodies written here, synced, then removed; empty: dropped
  std::string scratch_prefix;     // uploads: objects written under it (in the target's bucket)
  double give_up_share = 0.1;     // SlowDowns and errors above this share of requests end the cell
};

/// Called about ten times a second: the share of the cell done (by time or by sample).
using CellProgress = std::function<void(double share, const CellResult& so_far)>;

/// Runs one cell over `objects` (a class of the sample) on `target`'s transport.
CellResult RunCell(const ListTarget& target, const std::vector<s3::ObjectInfo>& objects, const Cell& cell,
                   const CellOptions& options, const std::atomic<bool>& stop, const CellProgress& progress);

/// Uploads' cleanup: aborts `begun` (the uploads a cell left open, by id), deletes every
/// object under `prefix` and aborts every unfinished upload listed there. A server that
/// cannot list unfinished uploads (501: s3rver) is taken at its word once `begun` are
/// aborted. Run after each cell and at the end, interrupted or not.
Status CleanScratch(const ListTarget& target, const std::string& prefix,
                    const std::vector<s3::UploadInfo>& begun = {});

}  // namespace riptide::engine::bench
