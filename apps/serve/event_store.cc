#include "apps/serve/event_store.h"

#include <sqlite3.h>

#include "engine/state/sqlite.h"

namespace riptide::serve {

using engine::sql::Exec;
using engine::sql::NowMs;
using engine::sql::SqlError;
using engine::sql::Stmt;

namespace {

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS notices(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_ms INTEGER NOT NULL,
  format TEXT NOT NULL,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  kind TEXT NOT NULL,
  etag TEXT NOT NULL DEFAULT '',
  identity TEXT UNIQUE,
  deliveries INTEGER NOT NULL DEFAULT 1,
  matched INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notice_jobs(
  notice INTEGER NOT NULL,
  job TEXT NOT NULL,
  state TEXT NOT NULL,
  run INTEGER NOT NULL DEFAULT 0,
  ended_ms INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(notice, job)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notice_jobs_state ON notice_jobs(job, state, notice);
CREATE TABLE IF NOT EXISTS files(
  job TEXT NOT NULL,
  key TEXT NOT NULL,
  src_present INTEGER NOT NULL DEFAULT -1,
  src_size INTEGER NOT NULL DEFAULT -1,
  src_ms INTEGER NOT NULL DEFAULT 0,
  dst_present INTEGER NOT NULL DEFAULT -1,
  dst_size INTEGER NOT NULL DEFAULT -1,
  dst_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(job, key)) WITHOUT ROWID;
)";

Status Step(sqlite3* db, Stmt& s, const char* what) {
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, what);
  sqlite3_reset(s.get());
  return OkStatus();
}

// What makes two deliveries the same event; none (every delivery counts) when the
// notification carries no ETag, sequencer or id.
std::string Identity(const Notice& n) {
  const std::string& tag = !n.sequencer.empty() ? n.sequencer : !n.etag.empty() ? n.etag : n.id;
  if (tag.empty()) return {};
  return n.bucket + '\n' + n.key + '\n' + (n.removed ? "removed" : "created") + '\n' + tag;
}

// Commits on success, rolls back otherwise.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { ok_ = Exec(db, "BEGIN IMMEDIATE").ok(); }
  ~Transaction() {
    if (ok_ && !done_) (void)Exec(db_, "ROLLBACK");
  }
  Status Commit() {
    if (!ok_) return SqlError(db_, "cannot begin a transaction");
    done_ = true;
    return Exec(db_, "COMMIT");
  }
  bool ok() const { return ok_; }

 private:
  sqlite3* db_;
  bool ok_ = false, done_ = false;
};

}  // namespace

Result<std::unique_ptr<EventStore>> EventStore::Open(const std::string& state_dir) {
  auto db = engine::sql::OpenDb(state_dir + "/service.db");
  if (!db.ok()) return db.error();
  std::unique_ptr<EventStore> store(new EventStore(*db));
  // A 202 tells the sender it need not deliver again: each commit of notices is synced
  // (the WAL fsynced), not just written, before the answer goes out.
  if (Status st = Exec(*db, "PRAGMA synchronous=FULL"); !st.ok()) return st.error();
  if (Status st = Exec(*db, kSchema); !st.ok()) return st.error();
  return store;
}

EventStore::~EventStore() { sqlite3_close(db_); }

Result<Receipt> EventStore::Receive(const std::vector<MatchedNotice>& notices) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "cannot store the events");
  Stmt insert(db_, "INSERT OR IGNORE INTO notices(received_ms, format, bucket, key, kind, etag, identity, matched) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, NULLIF(?7, ''), ?8)");
  Stmt again(db_, "UPDATE notices SET deliveries = deliveries + 1 WHERE identity = ?1");
  Stmt pending(db_, "INSERT OR IGNORE INTO notice_jobs(notice, job, state) VALUES(?1, ?2, 'pending')");
  // The source side of the files table, as the notice says.
  Stmt file(db_, "INSERT INTO files(job, key, src_present, src_size, src_ms) VALUES(?1, ?2, ?3, ?4, ?5) "
                 "ON CONFLICT(job, key) DO UPDATE SET src_present = ?3, src_size = ?4, src_ms = ?5");
  Receipt receipt;
  const int64_t now = NowMs();
  for (const auto& m : notices) {
    const Notice& n = m.notice;
    const std::string identity = Identity(n);
    insert.Int(1, now);
    insert.Text(2, n.format);
    insert.Text(3, n.bucket);
    insert.Text(4, n.key);
    insert.Text(5, n.removed ? "removed" : "created");
    insert.Text(6, n.etag);
    insert.Text(7, identity);
    insert.Int(8, m.jobs.empty() ? 0 : 1);
    if (Status st = Step(db_, insert, "cannot store an event"); !st.ok()) return st.error();
    if (sqlite3_changes(db_) == 0) {
      again.Text(1, identity);
      if (Status st = Step(db_, again, "cannot count a redelivery"); !st.ok()) return st.error();
      ++receipt.duplicate;
      continue;
    }
    ++receipt.accepted;
    ++(m.jobs.empty() ? receipt.unmatched : receipt.matched);
    const int64_t id = sqlite3_last_insert_rowid(db_);
    for (const auto& job : m.jobs) {
      pending.Int(1, id);
      pending.Text(2, job);
      if (Status st = Step(db_, pending, "cannot queue an event"); !st.ok()) return st.error();
      file.Text(1, job);
      file.Text(2, n.key);
      file.Int(3, n.removed ? 0 : 1);
      file.Int(4, n.removed ? -1 : n.size);
      file.Int(5, now);
      if (Status st = Step(db_, file, "cannot record a file"); !st.ok()) return st.error();
    }
  }
  if (Status st = tx.Commit(); !st.ok()) return st.error();
  return receipt;
}

Status EventStore::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  return Exec(db_, "UPDATE notice_jobs SET state = 'pending', run = 0 WHERE state = 'running'");
}

Result<std::vector<std::string>> EventStore::PendingJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> jobs;
  Stmt q(db_, "SELECT DISTINCT job FROM notice_jobs WHERE state = 'pending'");
  while (q.ok() && sqlite3_step(q.get()) == SQLITE_ROW) jobs.push_back(q.ColText(0));
  return jobs;
}

Result<std::vector<ClaimedNotice>> EventStore::Claim(const std::string& job, int64_t run, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "cannot claim events");
  std::vector<ClaimedNotice> claimed;
  Stmt q(db_, "SELECT n.id, n.key, n.kind, n.etag FROM notice_jobs j JOIN notices n ON n.id = j.notice "
              "WHERE j.job = ?1 AND j.state = 'pending' ORDER BY j.notice LIMIT ?2");
  q.Text(1, job);
  q.Int(2, limit);
  while (q.ok() && sqlite3_step(q.get()) == SQLITE_ROW) {
    claimed.push_back({q.ColInt(0), q.ColText(1), q.ColText(2) == "removed", q.ColText(3)});
  }
  Stmt u(db_, "UPDATE notice_jobs SET state = 'running', run = ?1 WHERE notice = ?2 AND job = ?3");
  for (const auto& c : claimed) {
    u.Int(1, run);
    u.Int(2, c.id);
    u.Text(3, job);
    if (Status st = Step(db_, u, "cannot claim an event"); !st.ok()) return st.error();
  }
  if (Status st = tx.Commit(); !st.ok()) return st.error();
  return claimed;
}

Status EventStore::Finish(const std::string& job, int64_t run, const std::vector<NoticeOutcome>& outcomes) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "cannot record events");
  Stmt u(db_, "UPDATE notice_jobs SET state = ?1, bytes = ?2, reason = ?3, ended_ms = ?4 "
              "WHERE notice = ?5 AND job = ?6 AND run = ?7");
  const int64_t now = NowMs();
  for (const auto& o : outcomes) {
    u.Text(1, o.state);
    u.Int(2, static_cast<int64_t>(o.bytes));
    u.Text(3, o.reason);
    u.Int(4, now);
    u.Int(5, o.id);
    u.Text(6, job);
    u.Int(7, run);
    if (Status st = Step(db_, u, "cannot record an event"); !st.ok()) return st;
  }
  return tx.Commit();
}

Result<std::vector<NoticeRow>> EventStore::Recent(int limit, int offset) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<NoticeRow> rows;
  Stmt q(db_, "SELECT id, received_ms, format, bucket, key, kind, etag, deliveries FROM notices "
              "ORDER BY id DESC LIMIT ?1 OFFSET ?2");
  q.Int(1, limit);
  q.Int(2, offset);
  while (q.ok() && sqlite3_step(q.get()) == SQLITE_ROW) {
    rows.push_back({q.ColInt(0), q.ColInt(1), q.ColText(2), q.ColText(3), q.ColText(4), q.ColText(5), q.ColText(6),
                    q.ColInt(7), {}});
  }
  Stmt j(db_, "SELECT job, state, reason, run, ended_ms FROM notice_jobs WHERE notice = ?1 ORDER BY job");
  for (auto& r : rows) {
    j.Int(1, r.id);
    while (j.ok() && sqlite3_step(j.get()) == SQLITE_ROW) {
      r.jobs.push_back({j.ColText(0), j.ColText(1), j.ColText(2), j.ColInt(3), j.ColInt(4)});
    }
    sqlite3_reset(j.get());
  }
  return rows;
}

Result<NoticeCounters> EventStore::Counters(const std::string& job) {
  std::lock_guard<std::mutex> lock(mu_);
  NoticeCounters c;
  if (job.empty()) {
    Stmt q(db_, "SELECT COALESCE(SUM(deliveries), 0), COALESCE(SUM(deliveries - 1), 0), "
                "COALESCE(SUM(matched = 0), 0) FROM notices");
    if (!q.ok() || sqlite3_step(q.get()) != SQLITE_ROW) return SqlError(db_, "cannot count events");
    c.received = static_cast<uint64_t>(q.ColInt(0));
    c.duplicate = static_cast<uint64_t>(q.ColInt(1));
    c.unmatched = static_cast<uint64_t>(q.ColInt(2));
  }
  Stmt s(db_, "SELECT state, COUNT(*) FROM notice_jobs WHERE ?1 = '' OR job = ?1 GROUP BY state");
  s.Text(1, job);
  while (s.ok() && sqlite3_step(s.get()) == SQLITE_ROW) {
    const std::string state = s.ColText(0);
    const auto n = static_cast<uint64_t>(s.ColInt(1));
    if (state == "done") c.succeeded += n;
    else if (state == "failed") c.failed += n;
    else if (state == "gone") c.gone += n;
    else if (state == "kept") c.kept += n;
    else c.pending += n;  // pending or running
  }
  return c;
}

Status EventStore::UpdateFiles(const std::string& job, const std::vector<FileUpdate>& updates) {
  if (updates.empty()) return OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "cannot record files");
  Stmt u(db_, "INSERT INTO files(job, key, src_present, src_size, src_ms, dst_present, dst_size, dst_ms) "
              "VALUES(?1, ?2, COALESCE(?3, -1), COALESCE(?4, -1), COALESCE(?5, 0), COALESCE(?6, -1), "
              "COALESCE(?7, -1), COALESCE(?8, 0)) "
              "ON CONFLICT(job, key) DO UPDATE SET "
              "src_present = COALESCE(?3, src_present), src_size = COALESCE(?4, src_size), "
              "src_ms = COALESCE(?5, src_ms), dst_present = COALESCE(?6, dst_present), "
              "dst_size = COALESCE(?7, dst_size), dst_ms = COALESCE(?8, dst_ms)");
  for (const auto& f : updates) {
    sqlite3_clear_bindings(u.get());
    u.Text(1, job);
    u.Text(2, f.key);
    if (f.source) {
      u.Int(3, f.source->present);
      if (f.source->size >= 0 || f.source->present == 0) u.Int(4, f.source->size);
      u.Int(5, f.source->at_ms);
    }
    if (f.destination) {
      u.Int(6, f.destination->present);
      if (f.destination->size >= 0 || f.destination->present == 0) u.Int(7, f.destination->size);
      u.Int(8, f.destination->at_ms);
    }
    if (Status st = Step(db_, u, "cannot record a file"); !st.ok()) return st;
  }
  return tx.Commit();
}

Result<std::vector<FileRow>> EventStore::Files(const std::string& job, const std::string& prefix,
                                               const std::string& after, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FileRow> rows;
  // Keys from the prefix on, in key order: an index range, whatever the table's size.
  Stmt q(db_, "SELECT key, src_present, src_size, src_ms, dst_present, dst_size, dst_ms FROM files "
              "WHERE job = ?1 AND key >= ?2 AND key > ?3 ORDER BY key LIMIT ?4");
  q.Text(1, job);
  q.Text(2, prefix);
  q.Text(3, after);
  q.Int(4, limit);
  while (q.ok() && sqlite3_step(q.get()) == SQLITE_ROW) {
    FileRow r;
    r.key = q.ColText(0);
    if (r.key.compare(0, prefix.size(), prefix) != 0) break;  // past the prefix
    r.source = {static_cast<int>(q.ColInt(1)), q.ColInt(2), q.ColInt(3)};
    r.destination = {static_cast<int>(q.ColInt(4)), q.ColInt(5), q.ColInt(6)};
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace riptide::serve
