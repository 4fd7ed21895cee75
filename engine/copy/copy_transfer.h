// One object copied into a bucket, as a chain of asynchronous S3 calls on the transport:
//   server-side   CopyObject, or Create → UploadPartCopy × N → Complete
//   streamed      GET → PUT, or Create → (ranged GET → UploadPart) × N → Complete
//   upload        read → PUT, or Create → (pread → UploadPart) × N → Complete
// Every body carries Content-MD5; every answer's ETag is checked against what was sent,
// and the finished object's ETag against the source's when they can be compared. A
// multipart source is copied with its own part layout, so its ETag comes out equal.
// A failed multipart upload is aborted: it leaves nothing behind.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/copy_options.h"
#include "engine/copy/object_streams.h"
#include "engine/core/stats.h"
#include "engine/state/upload_journal.h"
#include "transport/http/transport.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// Multipart uploads begun and not yet completed or aborted, so that a run that stops
/// (a signal, a cancelled transport) can abort what is left.
class OpenUploads {
 public:
  /// Also writes each upload's opening and closing to `journal` (may be null).
  explicit OpenUploads(UploadJournal* journal = nullptr) : journal_(journal) {}
  void Add(const std::string& upload_id, const std::string& key);
  void Remove(const std::string& upload_id);
  std::map<std::string, std::string> Snapshot() const;  // upload id → key

 private:
  UploadJournal* journal_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> open_;
};

struct CopyTask;

struct CopyContext {
  const CopyOptions& options;
  http::Transport& source_transport;
  http::Transport& destination_transport;
  const s3::RequestFactory* source_requests;  // null for local sources
  const s3::RequestFactory& destination_requests;
  bool server_side = false;
  Stats& stats;
  std::atomic<bool>& stop;
  OpenUploads& uploads;
  /// Runs heavy work (hashing, reading files) off the transport's thread.
  std::function<void(std::function<void()>)> schedule;
  /// Hands back an object's budget (slots, memory) once its last part is sent: while the
  /// destination assembles a large upload, the next objects can already stream.
  std::function<void(CopyTask&)> release;
  /// The destination answered UploadPartCopy with 501: later objects go whole (CopyObject).
  std::atomic<bool> part_copy_unsupported{false};
  /// The destination refused a request for its x-amz-checksum-* headers: later objects
  /// carry none (Content-MD5 and the ETags still prove them).
  std::atomic<bool> checksums_refused{false};
  /// The destination answered 413 to a body: no body above this is sent from then on
  /// (0: no such answer yet).
  std::atomic<uint64_t> body_cap{0};
};

/// One object to copy, and what became of it.
struct CopyTask {
  StreamEntry source;     // rel, info (full key, size, ETag) and, for local files, path
  std::string dst_key;
  bool is_new = true;
  /// --checksum on a local file: the destination object it may already match; the plan
  /// stage hashes the file (files of a batch in parallel) and skips the copy on a match.
  std::optional<s3::ObjectInfo> check_against;
  int slots = 1;          // requests this object may run at once (budget tokens held)
  int memory_mib = 0;     // body memory it may hold (budget tokens held)
  std::optional<Error> error;
  std::string verified_by;  // "etag" (equal to the source's), "md5" (every body), "server"
  std::string etag;         // the destination's ETag
  uint64_t bytes = 0;
};
using CopyTaskPtr = std::shared_ptr<CopyTask>;

/// How many parts an object will be sent in (1: a single request), and an upper bound on
/// one part's size, for the plan stage's budgets.
struct CopyShape {
  uint64_t parts = 1;
  uint64_t part_bytes = 0;
  bool holds_bodies = true;  // false for server-side copies: no byte passes through riptide
};
CopyShape ShapeOf(const CopyContext& ctx, const StreamEntry& source);

/// Starts the copy; `done` runs once, on some thread, when it succeeded or failed for good.
void StartCopy(CopyContext& ctx, CopyTaskPtr task, std::function<void(CopyTaskPtr)> done);

/// Aborts multipart uploads, one call each (retried); for what a stopped run left open.
/// Returns those that could not be aborted.
std::map<std::string, std::string> AbortUploads(http::Transport& transport, const s3::RequestFactory& requests, const std::string& bucket,
                  const std::map<std::string, std::string>& uploads, const RetryPolicy& retry);

}  // namespace riptide::engine
