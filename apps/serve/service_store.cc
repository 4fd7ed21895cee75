#include "apps/serve/service_store.h"

#include <sqlite3.h>

#include <filesystem>

#include "engine/state/sqlite.h"

namespace riptide::serve {

using engine::sql::Exec;
using engine::sql::NowMs;
using engine::sql::SqlError;
using engine::sql::Stmt;

namespace {

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS service_runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job TEXT NOT NULL,
  trigger TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  triggers INTEGER NOT NULL DEFAULT 1,
  received_ms INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER NOT NULL DEFAULT 0,
  ended_ms INTEGER NOT NULL DEFAULT 0,
  listed INTEGER NOT NULL DEFAULT 0,
  transferred INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL DEFAULT 0,
  throttled INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS service_runs_job ON service_runs(job, id);
CREATE TABLE IF NOT EXISTS service_objects(
  run_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  ok INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS service_objects_run ON service_objects(run_id);
CREATE TABLE IF NOT EXISTS service_probe(id INTEGER PRIMARY KEY, at_ms INTEGER);
)";

const char* kRunColumns =
    "id, job, trigger, kind, state, triggers, received_ms, started_ms, ended_ms, listed, transferred, skipped, "
    "failed, deleted, bytes, retries, error, throttled";

RunRow ReadRun(Stmt& s) {
  RunRow r;
  r.id = s.ColInt(0);
  r.job = s.ColText(1);
  r.trigger = s.ColText(2);
  r.kind = s.ColText(3);
  r.state = s.ColText(4);
  r.triggers = s.ColInt(5);
  r.received_ms = s.ColInt(6);
  r.started_ms = s.ColInt(7);
  r.ended_ms = s.ColInt(8);
  r.listed = static_cast<uint64_t>(s.ColInt(9));
  r.transferred = static_cast<uint64_t>(s.ColInt(10));
  r.skipped = static_cast<uint64_t>(s.ColInt(11));
  r.failed = static_cast<uint64_t>(s.ColInt(12));
  r.deleted = static_cast<uint64_t>(s.ColInt(13));
  r.bytes = static_cast<uint64_t>(s.ColInt(14));
  r.retries = static_cast<uint64_t>(s.ColInt(15));
  r.error = s.ColText(16);
  r.throttled = static_cast<uint64_t>(s.ColInt(17));
  return r;
}

// Runs one statement that returns no rows.
Status Run(sqlite3* db, Stmt& s, const char* what) {
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, what);
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<ServiceStore>> ServiceStore::Open(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot create the state directory " + state_dir + ": " + ec.message());
  auto db = engine::sql::OpenDb(state_dir + "/service.db");
  if (!db.ok()) return db.error();
  std::unique_ptr<ServiceStore> store(new ServiceStore(*db));
  if (Status st = Exec(*db, kSchema); !st.ok()) return st.error();
  return store;
}

ServiceStore::~ServiceStore() { sqlite3_close(db_); }

Result<std::vector<int64_t>> ServiceStore::RecoverInterrupted() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> ids;
  Stmt q(db_, "SELECT id FROM service_runs WHERE state = 'running'");
  while (q.ok() && sqlite3_step(q.get()) == SQLITE_ROW) ids.push_back(q.ColInt(0));
  Stmt u(db_, "UPDATE service_runs SET state = 'interrupted', ended_ms = ?1, "
              "error = 'the service stopped during the run' WHERE state = 'running'");
  u.Int(1, NowMs());
  if (Status st = Run(db_, u, "cannot mark interrupted runs"); !st.ok()) return st.error();
  return ids;
}

Result<std::map<std::string, std::pair<int64_t, std::string>>> ServiceStore::Queued() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::pair<int64_t, std::string>> queued;
  Stmt q(db_, "SELECT job, id, trigger FROM service_runs WHERE id IN "
              "(SELECT MIN(id) FROM service_runs WHERE state = 'queued' GROUP BY job)");
  if (!q.ok()) return SqlError(db_, "cannot read queued runs");
  while (sqlite3_step(q.get()) == SQLITE_ROW) queued[q.ColText(0)] = {q.ColInt(1), q.ColText(2)};
  return queued;
}

Status ServiceStore::Retrigger(int64_t id, const std::string& trigger) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "UPDATE service_runs SET trigger = ?1 WHERE id = ?2 AND state = 'queued'");
  s.Text(1, trigger);
  s.Int(2, id);
  return Run(db_, s, "cannot update a queued run");
}

Result<int64_t> ServiceStore::Enqueue(const std::string& job, const std::string& trigger) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "INSERT INTO service_runs(job, trigger, state, received_ms) VALUES (?1, ?2, 'queued', ?3)");
  s.Text(1, job);
  s.Text(2, trigger);
  s.Int(3, NowMs());
  if (Status st = Run(db_, s, "cannot record a run"); !st.ok()) return st.error();
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Status ServiceStore::Coalesce(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "UPDATE service_runs SET triggers = triggers + 1 WHERE id = ?1");
  s.Int(1, id);
  return Run(db_, s, "cannot record a trigger");
}

Status ServiceStore::Start(int64_t id, const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "UPDATE service_runs SET state = 'running', kind = ?2, started_ms = ?3 WHERE id = ?1");
  s.Int(1, id);
  s.Text(2, kind);
  s.Int(3, NowMs());
  return Run(db_, s, "cannot start a run");
}

Status ServiceStore::Finish(int64_t id, const engine::SyncReport& r, const std::string& state,
                            const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "UPDATE service_runs SET state = ?2, ended_ms = ?3, listed = ?4, transferred = ?5, skipped = ?6, "
         "failed = ?7, deleted = ?8, bytes = ?9, retries = ?10, error = ?11, throttled = ?12 WHERE id = ?1");
  s.Int(1, id);
  s.Text(2, state);
  s.Int(3, NowMs());
  s.Int(4, static_cast<int64_t>(r.listed));
  s.Int(5, static_cast<int64_t>(r.transferred));
  s.Int(6, static_cast<int64_t>(r.skipped));
  s.Int(7, static_cast<int64_t>(r.failed));
  s.Int(8, static_cast<int64_t>(r.deleted));
  s.Int(9, static_cast<int64_t>(r.bytes));
  s.Int(10, static_cast<int64_t>(r.retries));
  s.Text(11, error);
  s.Int(12, static_cast<int64_t>(r.throttled));
  return Run(db_, s, "cannot finish a run");
}

Status ServiceStore::Close(int64_t id, const std::string& state, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "UPDATE service_runs SET state = ?2, ended_ms = ?3, error = ?4 WHERE id = ?1");
  s.Int(1, id);
  s.Text(2, state);
  s.Int(3, NowMs());
  s.Text(4, error);
  return Run(db_, s, "cannot close a run");
}

Status ServiceStore::RecordObjects(int64_t id, const std::vector<ObjectRow>& objects) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status st = Exec(db_, "BEGIN"); !st.ok()) return st;
  Stmt s(db_, "INSERT INTO service_objects(run_id, key, ok, bytes, at_ms, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  for (size_t i = 0; i < objects.size() && i < kMaxObjects && s.ok(); ++i) {
    const ObjectRow& o = objects[i];
    sqlite3_reset(s.get());
    s.Int(1, id);
    s.Text(2, o.key);
    s.Int(3, o.ok ? 1 : 0);
    s.Int(4, static_cast<int64_t>(o.bytes));
    s.Int(5, o.at_ms);
    s.Text(6, o.reason);
    if (sqlite3_step(s.get()) != SQLITE_DONE) {
      (void)Exec(db_, "ROLLBACK");
      return SqlError(db_, "cannot record a run's objects");
    }
  }
  return Exec(db_, "COMMIT");
}

Result<std::optional<RunRow>> ServiceStore::Get(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kRunColumns + " FROM service_runs WHERE id = ?1").c_str());
  if (!s.ok()) return SqlError(db_, "cannot read a run");
  s.Int(1, id);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<RunRow>();
  return std::optional<RunRow>(ReadRun(s));
}

Result<std::vector<RunRow>> ServiceStore::Recent(const std::string& job, int limit, int offset) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kRunColumns +
               " FROM service_runs WHERE ?1 = '' OR job = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3")
                  .c_str());
  if (!s.ok()) return SqlError(db_, "cannot read runs");
  s.Text(1, job);
  s.Int(2, limit);
  s.Int(3, offset);
  std::vector<RunRow> rows;
  while (sqlite3_step(s.get()) == SQLITE_ROW) rows.push_back(ReadRun(s));
  return rows;
}

Result<int64_t> ServiceStore::CountRuns() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT COUNT(*) FROM service_runs");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return SqlError(db_, "cannot count runs");
  return s.ColInt(0);
}

Result<std::vector<ObjectRow>> ServiceStore::Objects(int64_t id, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT key, ok, bytes, at_ms, reason FROM service_objects WHERE run_id = ?1 ORDER BY rowid LIMIT ?2");
  if (!s.ok()) return SqlError(db_, "cannot read a run's objects");
  s.Int(1, id);
  s.Int(2, limit);
  std::vector<ObjectRow> rows;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    rows.push_back({s.ColText(0), s.ColInt(1) != 0, static_cast<uint64_t>(s.ColInt(2)), s.ColInt(3), s.ColText(4)});
  }
  return rows;
}

Result<bool> ServiceStore::HasSynced(const std::string& job) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT 1 FROM service_runs WHERE job = ?1 AND state IN ('ok', 'partial') LIMIT 1");
  if (!s.ok()) return SqlError(db_, "cannot read runs");
  s.Text(1, job);
  return sqlite3_step(s.get()) == SQLITE_ROW;
}

Result<std::map<std::string, JobTotals>> ServiceStore::Totals() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string timed = "started_ms > 0 AND ended_ms >= started_ms";
  std::string sql =
      "SELECT job, trigger, state, COUNT(*), SUM(transferred), SUM(failed), SUM(bytes), SUM(retries), SUM(deleted), "
      "SUM(throttled), MAX(ended_ms), SUM(" + timed + "), TOTAL(CASE WHEN " + timed +
      " THEN ended_ms - started_ms END) / 1000.0";
  for (int le : kDurationBuckets) {
    sql += ", SUM(" + timed + " AND ended_ms - started_ms <= " + std::to_string(le * 1000) + ")";
  }
  sql += " FROM service_runs WHERE state NOT IN ('queued', 'running') GROUP BY job, trigger, state";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return SqlError(db_, "cannot read runs");
  std::map<std::string, JobTotals> totals;
  auto n = [&s](int i) { return static_cast<uint64_t>(s.ColInt(i)); };
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    JobTotals& t = totals[s.ColText(0)];
    const std::string state = s.ColText(2);
    const bool succeeded = state == "ok" || state == "dry-run";
    t.runs_by_state[state] += n(3);
    t.runs_by_trigger[{s.ColText(1), succeeded}] += n(3);
    t.transferred += n(4);
    t.failed += n(5);
    t.bytes += n(6);
    t.retries += n(7);
    t.deleted += n(8);
    t.throttled += n(9);
    if (succeeded) t.last_success_ms = std::max(t.last_success_ms, s.ColInt(10));
    t.timed_runs += n(11);
    t.run_seconds += sqlite3_column_double(s.get(), 12);
    for (size_t b = 0; b < kDurationBuckets.size(); ++b) t.runs_within[b] += n(13 + static_cast<int>(b));
  }
  return totals;
}

Status ServiceStore::Probe() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "INSERT OR REPLACE INTO service_probe(id, at_ms) VALUES (1, ?1)");
  s.Int(1, NowMs());
  return Run(db_, s, "the state database is not writable");
}

}  // namespace riptide::serve
