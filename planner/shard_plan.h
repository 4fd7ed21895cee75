// Shards of a key space: N contiguous key ranges balanced by objects and bytes, so N
// workers (a Slurm array, a Kubernetes Indexed Job) each list and transfer only theirs.
// Pure: the listing that feeds it and the file it is kept in are the callers'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace riptide::planner {

/// Keys in (after, last]; an empty `last` runs to the end of the listing.
struct KeyRange {
  std::string after;
  std::string last;
  uint64_t objects = 0, bytes = 0;  // as listed when the plan was made
  bool Contains(const std::string& key) const { return key > after && (last.empty() || key <= last); }
};

/// Collects a listing in key order, keeping a bounded sample of it (every object's
/// weight counts; at most about `kMaxSamples` keys are kept, evenly spaced).
class ShardSampler {
 public:
  /// The cost of an object: one request's worth, plus its bytes.
  static double Weight(uint64_t size) { return 1.0 + static_cast<double>(size) / (8 << 20); }
  void Add(const std::string& key, uint64_t size);
  /// `n` ranges covering every key, each about 1/n of the weight (fewer when there are
  /// fewer distinct keys than shards: never an empty range between two keys).
  std::vector<KeyRange> Split(int n) const;
  uint64_t objects() const { return objects_; }
  uint64_t bytes() const { return bytes_; }

  static constexpr size_t kMaxSamples = 65536;

 private:
  struct Sample {
    std::string key;
    double weight = 0;  // cumulative, up to and including this key
    uint64_t objects = 0, bytes = 0;  // cumulative
  };
  std::vector<Sample> samples_;
  uint64_t stride_ = 1, seen_ = 0;
  double weight_ = 0;
  uint64_t objects_ = 0, bytes_ = 0;
  Sample last_;
};

/// A key strictly between `after` and `last`, near the middle of the byte-string space
/// between them: where a range being listed is split in two. Keys outside `prefix` are
/// never meant: `after` counts as at least `prefix`, and an empty `last` (no bound above)
/// as `prefix` followed by 0xFF bytes. "" when no key lies strictly between.
std::string MidKey(const std::string& after, const std::string& last, const std::string& prefix);

/// Where `key` lies in the key space below `prefix`, in [0, 1): its first bytes after
/// the prefix read as a fraction. Compares the widths of ranges ("" counts as 0, an
/// empty `last` as 1).
double KeyPosition(const std::string& key, const std::string& prefix);

}  // namespace riptide::planner
