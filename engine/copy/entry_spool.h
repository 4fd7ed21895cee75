// Stream entries on disk: a spool read back in the order it was written, and an external
// merge sort for listings a server hands out of byte order. Both cost disk, not memory,
// however many keys a bucket holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "engine/copy/object_streams.h"
#include "transport/result.h"

namespace riptide::engine {

/// Entries appended to an anonymous temp file and read back in the order they came.
class EntrySpool {
 public:
  EntrySpool();
  ~EntrySpool();
  EntrySpool(const EntrySpool&) = delete;
  EntrySpool& operator=(const EntrySpool&) = delete;

  Status Add(const StreamEntry& entry);
  uint64_t count() const { return count_; }
  /// Calls `fn` with each entry, in the order they were added.
  Status ForEach(const std::function<Status(StreamEntry& entry)>& fn);
  /// Forgets every entry.
  Status Clear();

 private:
  std::FILE* file_;
  uint64_t count_ = 0;
};

/// An external merge sort by `rel`: entries gather in memory up to a byte budget; each
/// full batch is sorted and written out as a run; `Seal` ends the input and `Next` then
/// merges the runs. Entries of equal `rel` keep the order they were added in.
/// Memory: the budget, then one entry per run (runs are merged down to at most
/// kMaxRuns, so open files stay few).
class SortedSpool final : public ObjectStream {
 public:
  static constexpr size_t kMaxRuns = 32;
  explicit SortedSpool(size_t memory_budget = size_t{16} << 20);
  ~SortedSpool() override;

  Status Add(StreamEntry entry);
  Status Seal();
  Result<bool> Next(StreamEntry* out) override;
  size_t runs() const { return runs_.size(); }

 private:
  struct Run;
  Status Spill();
  Status MergeRuns();
  Result<bool> NextOfRuns(StreamEntry* out);
  size_t budget_;
  size_t held_bytes_ = 0;
  std::vector<StreamEntry> held_;
  size_t next_held_ = 0;
  std::vector<std::unique_ptr<Run>> runs_;
  bool sealed_ = false;
};

}  // namespace riptide::engine
