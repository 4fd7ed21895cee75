// The resume journal: which parts of an interrupted ranged download are already on
// disk, so the next run fetches only the rest. A part is recorded only after the temp
// file's data is durable (fdatasync), on the journal's own thread and connection.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "transport/result.h"

struct sqlite3;

namespace riptide::engine {

/// A ranged download in progress, as the journal knows it.
struct PartialDownload {
  std::string key;
  std::string etag;
  uint64_t size = 0;
  uint64_t part_size = 0;
  std::string path;       // relative to the dataset
  std::string temp_name;  // in the path's folder
  std::set<int> done;     // part indexes whose bytes are durable
};

class PartJournal {
 public:
  /// Opens the journal inside STATE_DIR/manifest.db (its own tables and connection).
  static Result<std::unique_ptr<PartJournal>> Open(const std::string& state_dir);
  ~PartJournal();

  /// What the journal holds for `key` (synchronous; plan thread).
  std::optional<PartialDownload> Find(const std::string& key);
  /// Every temp file name the journal still needs (stale-file cleanup must spare them).
  std::set<std::string> TempNames();

  // Queued, applied in order on the journal's thread.
  void Begin(const PartialDownload& download);
  /// fdatasyncs `fd` (a dup the journal closes), then records part `index` as done.
  void PartDone(const std::string& key, int index, int fd);
  void Forget(const std::string& key);
  /// Waits until everything queued is applied.
  void Drain();

 private:
  struct BeginOp { PartialDownload d; };
  struct DoneOp { std::string key; int index; int fd; };
  struct ForgetOp { std::string key; };
  using Op = std::variant<BeginOp, DoneOp, ForgetOp>;

  explicit PartJournal(sqlite3* db);
  void Loop();
  void Apply(Op& op);

  sqlite3* db_;
  std::mutex db_mu_;  // the connection is shared by the plan thread and the journal thread
  std::mutex mu_;     // guards the queue and flags below
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace riptide::engine
