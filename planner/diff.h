// The streaming diff: a sorted listing merge-joined with the sorted manifest.
// Memory is O(page), never O(bucket).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/s3/object_info.h"

namespace riptide::planner {

/// What the manifest remembers of one object.
struct ManifestEntry {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  int64_t last_modified_ms = 0;
  std::string path;            // where the object lives in the dataset
  int64_t local_mtime_ns = 0;  // the file's mtime when it was committed
  std::string xxh3;            // the content's XXH3-128 when it was committed (hex)
};

/// Manifest rows in key byte order (S3's listing order), read lazily.
class ManifestCursor {
 public:
  virtual ~ManifestCursor() = default;
  /// The row under the cursor, or nullptr at the end.
  virtual const ManifestEntry* Current() = 0;
  virtual void Next() = 0;
  /// A point look-up, for keys a server lists out of order.
  virtual std::optional<ManifestEntry> Find(const std::string& key) = 0;
  /// Once a listing went out of order: remembers a key it named (on disk, not in memory).
  virtual void MarkListed(const std::string& key) = 0;
  /// Puts the cursor on the rows after `after` that no MarkListed named, in key order.
  virtual void RewindUnlisted(const std::string& after) = 0;
};

struct Decision {
  enum class Action { kNew, kChanged, kUnchanged, kGone };
  Action action;
  s3::ObjectInfo object;  // kGone: only `key` is set
  ManifestEntry known;    // the manifest's row (kChanged, kUnchanged, kGone)
  /// An object listed out of order that an earlier kGone decision named: that decision
  /// was wrong and is taken back.
  bool retracts_gone = false;
};

struct DiffOptions {
  /// Key lists: the objects are not a listing of the whole prefix, so each is looked up
  /// and nothing is ever kGone.
  bool lookup_only = false;
  /// --newer: a LastModified later than the recorded one also means kChanged (servers
  /// whose ETags are not content hashes).
  bool compare_last_modified = false;
};

class Differ {
 public:
  explicit Differ(ManifestCursor& manifest, DiffOptions options = {}) : manifest_(manifest), options_(options) {}

  /// Decides every object of one listing page, in order.
  void Feed(const std::vector<s3::ObjectInfo>& page, std::vector<Decision>* out);
  /// After the last page: manifest rows never listed are kGone.
  void Finish(std::vector<Decision>* out);
  /// False once the listing went out of key order. The diff stays exact: keys out of
  /// order are looked up (a kGone decided before for one is retracted), keys listed from
  /// then on are marked in the manifest's store, and the rest of the kGone decisions
  /// come from the rows no key named, in Finish.
  bool listing_sorted() const { return sorted_; }

 private:
  Decision Compare(const s3::ObjectInfo& listed, const std::optional<ManifestEntry>& known) const;
  void FeedOne(const s3::ObjectInfo& obj, std::vector<Decision>* out);
  ManifestCursor& manifest_;
  DiffOptions options_;
  std::string last_key_;
  std::string sorted_until_;  // the last key listed in order before the first out of order
  bool any_ = false;
  bool sorted_ = true;
};

}  // namespace riptide::planner
