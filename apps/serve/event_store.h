// What the service keeps of object events, beside its runs in STATE_DIR/service.db:
// every notice received (stored before the 202, so a crash loses none), which jobs it
// matched and how each ended, and the files table: every key a job has seen, with its
// presence in the source and the destination.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apps/serve/notifications.h"
#include "transport/result.h"

struct sqlite3;

namespace riptide::serve {

/// A notice and the jobs it matched (names), as the service decided on arrival.
struct MatchedNotice {
  Notice notice;
  std::vector<std::string> jobs;
};

struct Receipt {
  int accepted = 0, duplicate = 0, matched = 0, unmatched = 0;
};

/// A notice claimed by a run of one job.
struct ClaimedNotice {
  int64_t id = 0;
  std::string key;
  bool removed = false;
  std::string etag;
};

/// How a claimed notice ended for its job: done, failed, gone (the object was no longer
/// there), kept (a move that left the source in place).
struct NoticeOutcome {
  int64_t id = 0;
  std::string state;
  uint64_t bytes = 0;
  std::string reason;
};

struct NoticeRow {
  int64_t id = 0;
  int64_t received_ms = 0;
  std::string format, bucket, key, kind, etag;
  int64_t deliveries = 1;
  struct PerJob {
    std::string job, state, reason;
    int64_t run = 0, ended_ms = 0;
  };
  std::vector<PerJob> jobs;  // none: matched no job
};

struct NoticeCounters {
  uint64_t received = 0, duplicate = 0, unmatched = 0, pending = 0, succeeded = 0, failed = 0, gone = 0, kept = 0;
};

/// One key's presence, as far as the service has seen: `present` is -1 when unknown.
struct FileSide {
  int present = -1;
  int64_t size = -1;
  int64_t at_ms = 0;
};
struct FileRow {
  std::string key;  // the source key
  FileSide source, destination;
};

class EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> Open(const std::string& state_dir);
  ~EventStore();

  /// Stores a delivery in one transaction: each notice once (a redelivery of the same
  /// bucket, key, kind and ETag, sequencer or id only counts), pending for its jobs.
  Result<Receipt> Receive(const std::vector<MatchedNotice>& notices);
  /// Notices a stopped process left running are pending again.
  Status Recover();
  /// Jobs with pending notices.
  Result<std::vector<std::string>> PendingJobs();
  /// Up to `limit` pending notices of `job`, oldest first, now running in `run`.
  Result<std::vector<ClaimedNotice>> Claim(const std::string& job, int64_t run, int limit);
  Status Finish(const std::string& job, int64_t run, const std::vector<NoticeOutcome>& outcomes);

  /// Newest first.
  Result<std::vector<NoticeRow>> Recent(int limit, int offset);
  Result<NoticeCounters> Counters(const std::string& job);  // "" for all jobs

  struct FileUpdate {
    std::string key;
    std::optional<FileSide> source, destination;  // unset: unchanged
  };
  Status UpdateFiles(const std::string& job, const std::vector<FileUpdate>& updates);
  /// Keys of `job` from `prefix`, after `after`, in key order.
  Result<std::vector<FileRow>> Files(const std::string& job, const std::string& prefix, const std::string& after,
                                     int limit);

 private:
  explicit EventStore(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace riptide::serve
