// The two-listing diff of a copy into a bucket: the source's and the destination's
// sorted streams walked side by side, and the keys to delete spooled to disk.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/copy/copy_options.h"
#include "engine/copy/copy_transfer.h"
#include "engine/copy/object_streams.h"
#include "engine/core/stats.h"
#include "transport/result.h"

namespace riptide::engine {

inline constexpr size_t kCopyBatch = 1000;  // decisions per graph message; keys per DeleteObjects

/// Keys to delete at the destination, spooled to an anonymous temp file as the merge
/// finds them: a bucket of millions of extraneous keys costs disk, not memory.
class DeleteSpool {
 public:
  DeleteSpool() : file_(std::tmpfile()) {}
  ~DeleteSpool();
  DeleteSpool(const DeleteSpool&) = delete;
  DeleteSpool& operator=(const DeleteSpool&) = delete;

  Status Add(const std::string& key, uint64_t size);
  uint64_t count() const { return count_; }
  /// Calls `fn` with each key and its object's size, in the order they were added.
  Status ForEach(const std::function<Status(const std::string& key, uint64_t size)>& fn);

 private:
  std::FILE* file_;
  uint64_t count_ = 0;
};

using Batch = std::shared_ptr<std::vector<CopyTaskPtr>>;

/// Walks the source and destination streams side by side in key order and decides, for
/// each key, whether to copy, skip or (with --delete) remove it.
class Merger {
 public:
  /// `destination` null: everything the source holds is copied (cp).
  Merger(const CopyOptions& options, ObjectStream& source, ObjectStream* destination, Stats& stats,
         DeleteSpool& deletes)
      : options_(options), src_(source), dst_(destination), stats_(stats), deletes_(deletes) {}

  /// The next batch of objects to copy; nullptr at the end. Unchanged and excluded keys
  /// are counted on the way.
  Result<Batch> Next();

 private:
  bool Included(const std::string& rel);
  Status AdvanceSource();
  Status AdvanceDestination();
  // Source and destination hold the same key: is the destination out of date? (A local
  // file under --checksum is left to the plan stage: it reads the file.)
  bool Changed();
  CopyTaskPtr Task(bool is_new);

  const CopyOptions& options_;
  ObjectStream& src_;
  ObjectStream* dst_;
  Stats& stats_;
  DeleteSpool& deletes_;
  bool started_ = false;
  bool have_src_ = false, have_dst_ = false;
  StreamEntry src_entry_, dst_entry_;
};

}  // namespace riptide::engine
