// The two-listing diff of a copy into a bucket: the source's and the destination's
// sorted streams walked side by side, and the keys to delete spooled to disk. A server
// that lists out of byte order turns the rest of both listings into sorted spools.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/copy_options.h"
#include "engine/copy/copy_transfer.h"
#include "engine/copy/entry_spool.h"
#include "engine/copy/object_streams.h"
#include "engine/core/stats.h"
#include "transport/result.h"

namespace riptide::engine {

inline constexpr size_t kCopyBatch = 1000;  // decisions per graph message; keys per DeleteObjects

/// Keys to delete at the destination, spooled to disk as the merge finds them: a bucket of
/// millions of extraneous keys costs disk, not memory.
using DeleteSpool = EntrySpool;

using Batch = std::shared_ptr<std::vector<CopyTaskPtr>>;

/// Walks the source and destination streams side by side in key order and decides, for
/// each key, whether to copy, skip or (with --delete) remove it.
///
/// Once either stream hands out a key out of order, what remains of both is read into
/// sorted spools and the walk goes on over those, so every decision stays exact:
/// destination keys the spooled deletes held go back into the walk, and a destination
/// key at or before the last source key decided earlier is looked up at the source (it
/// may have been copied then). Keys copied before the disorder showed and listed late by
/// the destination were copied once more than needed; nothing is deleted wrongly.
class Merger {
 public:
  /// `destination` null: everything the source holds is copied (cp).
  Merger(const CopyOptions& options, ObjectStream& source, ObjectStream* destination, Stats& stats,
         DeleteSpool& deletes, size_t sort_budget = size_t{16} << 20)
      : options_(options), source_(source), src_(&source), dst_(destination), stats_(stats), deletes_(deletes),
        sort_budget_(sort_budget) {}

  /// The next batch of objects to copy; nullptr at the end. Unchanged and excluded keys
  /// are counted on the way.
  Result<Batch> Next();
  /// A stream came out of order and the rest of the walk went through sorted spools.
  bool resorted() const { return resorted_; }

 private:
  bool Included(const std::string& rel);
  Status AdvanceSource();
  Status AdvanceDestination();
  // The rest of both streams (and the spooled deletes) sorted on disk, walked from here.
  Status Resort();
  // A destination key no source key matched: delete it, unless the source named it
  // before the walk was resorted.
  Status DestinationOnly();
  // Source and destination hold the same key: is the destination out of date? (A local
  // file under --checksum is left to the plan stage: it reads the file.)
  bool Changed();
  CopyTaskPtr Task(bool is_new);

  const CopyOptions& options_;
  ObjectStream& source_;  // the source as opened: its point look-ups
  ObjectStream* src_;     // what the walk reads: the source, or its sorted rest
  ObjectStream* dst_;
  Stats& stats_;
  DeleteSpool& deletes_;
  size_t sort_budget_;
  std::unique_ptr<SortedSpool> sorted_src_, sorted_dst_;
  bool resorted_ = false;
  std::optional<std::string> src_decided_;  // the last source key decided before the walk was resorted
  bool started_ = false;
  bool have_src_ = false, have_dst_ = false;
  StreamEntry src_entry_, dst_entry_;
};

}  // namespace riptide::engine
