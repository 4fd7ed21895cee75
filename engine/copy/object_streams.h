// Sorted streams of objects to copy into a bucket: a bucket's listing, or a local
// directory walked in the order S3 would list its files. Both yield keys relative to
// their root, so a merge-join can line a source up with a destination. Memory: one
// listing page, or one directory's names per level.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/listing.h"
#include "transport/result.h"
#include "transport/s3/object_info.h"

namespace riptide::engine {

struct StreamEntry {
  std::string rel;       // key relative to the stream's root ("a/b.txt")
  s3::ObjectInfo info;   // info.key: the full key (bucket) or "" (local)
  std::string path;      // local streams: the file's path
  uint64_t dev = 0, ino = 0;  // local streams: the file the walk found (reads must find it again)
};

/// Opens a local entry for reading: the very file the walk listed (same device and inode,
/// a regular file, reached without a symlink), never blocking on a FIFO swapped in since.
Result<int> OpenListedFile(const StreamEntry& file);

class ObjectStream {
 public:
  virtual ~ObjectStream() = default;
  /// The next entry, in key byte order when the source keeps it; false at the end.
  virtual Result<bool> Next(StreamEntry* out) = 0;
  /// False once an entry came out of order (some servers list so): a merge-join against
  /// this stream cannot tell what is missing, so nothing may be deleted on its word.
  bool sorted() const { return sorted_; }
  /// The stream was read to its end.
  bool complete() const { return complete_; }
  /// Whether the source holds `rel` now: a point look-up, for keys a walk out of order
  /// passed over. A stream that cannot look up says so as an error.
  virtual Result<bool> Contains(const std::string& rel);

 protected:
  // Records the order of `rel` against the previous entry.
  void Saw(const std::string& rel);
  bool sorted_ = true;
  bool complete_ = false;
  std::string last_;
  bool any_ = false;
};

/// ListObjectsV2 under a prefix, one page at a time, the next page fetched while this one
/// is consumed.
class BucketStream final : public ObjectStream {
 public:
  BucketStream(ListTarget target, std::string prefix, int page_size, int list_concurrency = 1);
  /// Reads the first page: errors here (bucket, credentials) mean nothing can start.
  Status Start();
  Result<bool> Next(StreamEntry* out) override;
  /// A HEAD of the key.
  Result<bool> Contains(const std::string& rel) override;

 private:
  std::string Where() const { return "s3://" + bucket_ + "/" + prefix_; }
  // A new page out of order within itself or against the last: known before any of it
  // is handed out, so a merge can stop trusting the order before it decides on its keys.
  void CheckPageOrder();
  ListTarget target_;
  std::string bucket_;
  std::string prefix_;
  PageReader reader_;
  std::shared_ptr<s3::ListPage> page_;
  size_t index_ = 0;
};

/// The regular files under a directory, in the byte order of their keys (so "a-b" comes
/// before "a/b", as in a listing). Symbolic links and special files are skipped and
/// counted; a dataset's own state folder (.riptide at the root) is left out.
class LocalTreeStream final : public ObjectStream {
 public:
  explicit LocalTreeStream(std::string root);
  ~LocalTreeStream() override;
  Status Start();
  Result<bool> Next(StreamEntry* out) override;
  /// A regular file at `rel`, reached from the root without a symlink, outside .riptide.
  Result<bool> Contains(const std::string& rel) override;
  uint64_t skipped() const { return skipped_; }

 private:
  struct Level;
  Status Enter(const std::string& rel);
  std::string root_;
  std::vector<std::unique_ptr<Level>> levels_;
  uint64_t skipped_ = 0;
};

/// A fixed list of entries (cp of one named object or file).
class EntryStream final : public ObjectStream {
 public:
  explicit EntryStream(std::vector<StreamEntry> entries) : entries_(std::move(entries)) {}
  Result<bool> Next(StreamEntry* out) override;

 private:
  std::vector<StreamEntry> entries_;
  size_t next_ = 0;
};

/// Named keys below a prefix (the service's event runs), HEADed a chunk at a time, all
/// of a chunk at once. A key that is missing is a failure of that key; a missing bucket
/// or refused credentials end the stream with an error.
class KeyListStream final : public ObjectStream {
 public:
  KeyListStream(ListTarget target, std::string prefix, std::vector<std::string> keys, int chunk);
  Result<bool> Next(StreamEntry* out) override;

 private:
  Status HeadChunk();
  ListTarget target_;
  std::string prefix_;
  std::vector<std::string> keys_;
  size_t chunk_;
  size_t next_key_ = 0;
  std::vector<StreamEntry> ready_;
  size_t next_ready_ = 0;
};

}  // namespace riptide::engine
