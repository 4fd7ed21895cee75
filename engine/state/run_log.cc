#include "engine/state/run_log.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/state/dataset.h"
#include "engine/state/sqlite.h"
#include "transport/s3/crypto.h"

namespace riptide::engine {

using sql::SqlError;
using sql::Stmt;

const char* RunLog::Schema() {
  return R"sql(
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  listed INTEGER DEFAULT 0, transferred INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0,
  failed INTEGER DEFAULT 0, bytes INTEGER DEFAULT 0,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures(run_id INTEGER NOT NULL, key TEXT NOT NULL, reason TEXT NOT NULL);
)sql";
}

Result<int64_t> RunLog::Begin(const std::string& source) {
  Stmt s(db_, "INSERT INTO runs(source, started_ms, status) VALUES(?, ?, 'running')");
  s.Text(1, source);
  s.Int(2, sql::NowMs());
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db_, "recording the run");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Status RunLog::End(const RunRecord& run) {
  Stmt s(db_,
         "UPDATE runs SET ended_ms=?, listed=?, transferred=?, skipped=?, failed=?, bytes=?, "
         "status=? WHERE id=?");
  s.Int(1, sql::NowMs());
  s.Int(2, static_cast<int64_t>(run.listed));
  s.Int(3, static_cast<int64_t>(run.transferred));
  s.Int(4, static_cast<int64_t>(run.skipped));
  s.Int(5, static_cast<int64_t>(run.failed));
  s.Int(6, static_cast<int64_t>(run.bytes));
  s.Text(7, run.status);
  s.Int(8, run.id);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db_, "closing the run");
  return OkStatus();
}

Status RunLog::RecordFailures(int64_t run_id, const FailureList& failures) {
  if (failures.empty()) return OkStatus();
  if (Status st = sql::Exec(db_, "BEGIN IMMEDIATE"); !st.ok()) return st;
  Stmt s(db_, "INSERT INTO failures(run_id, key, reason) VALUES(?, ?, ?)");
  for (size_t i = 0; i < failures.size() && i < 1000; ++i) {
    s.Int(1, run_id);
    s.Text(2, failures[i].first);
    s.Text(3, failures[i].second);
    sqlite3_step(s.get());
    sqlite3_reset(s.get());
  }
  return sql::Exec(db_, "COMMIT");
}

Result<std::vector<RunRecord>> RunLog::Recent(int n) {
  Stmt s(db_,
         "SELECT id, source, started_ms, COALESCE(ended_ms, 0), listed, transferred, skipped, failed, bytes, "
         "status FROM runs WHERE status != 'dry-run' OR id = (SELECT MAX(id) FROM runs) ORDER BY id DESC LIMIT ?");
  s.Int(1, n);
  std::vector<RunRecord> runs;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    RunRecord r;
    r.id = s.ColInt(0);
    r.source = s.ColText(1);
    r.started_ms = s.ColInt(2);
    r.ended_ms = s.ColInt(3);
    r.listed = static_cast<uint64_t>(s.ColInt(4));
    r.transferred = static_cast<uint64_t>(s.ColInt(5));
    r.skipped = static_cast<uint64_t>(s.ColInt(6));
    r.failed = static_cast<uint64_t>(s.ColInt(7));
    r.bytes = static_cast<uint64_t>(s.ColInt(8));
    r.status = s.ColText(9);
    runs.push_back(std::move(r));
  }
  return runs;
}

Result<FailureList> RunLog::LastFailures() {
  Stmt s(db_, "SELECT key, reason FROM failures WHERE run_id = (SELECT MAX(id) FROM runs WHERE status != 'running')");
  FailureList out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) out.emplace_back(s.ColText(0), s.ColText(1));
  return out;
}

Result<std::string> RunLog::LastStatus() {
  Stmt s(db_, "SELECT status FROM runs ORDER BY id DESC LIMIT 1");
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqlError(db_, "reading the last run");
  return s.ColText(0);
}

void RunLog::Record(int64_t id, const SyncReport& report) {
  RunRecord run;
  run.id = id;
  run.listed = report.listed;
  run.transferred = report.transferred;
  run.skipped = report.skipped;
  run.failed = report.failed;
  run.bytes = report.bytes;
  run.status = report.Outcome();
  FailureList failures;
  for (const auto& f : report.failures) failures.emplace_back(f.key, f.reason);
  if (Status st = RecordFailures(run.id, failures); !st.ok()) spdlog::warn("{}", st.error().message);
  if (Status st = End(run); !st.ok()) spdlog::warn("{}", st.error().message);
}

std::string DestinationId(const std::string& destination) {
  return s3::HexEncode(s3::Sha256(destination)).substr(0, 16);
}

namespace {

Result<sqlite3*> OpenCopyDb(const std::string& path) {
  auto db = sql::OpenDb(path);
  if (!db.ok()) return db.error();
  const std::string schema =
      std::string("CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);") + RunLog::Schema();
  if (Status st = sql::Exec(*db, schema.c_str()); !st.ok()) {
    sqlite3_close(*db);
    return st.error();
  }
  return *db;
}

std::string Meta(sqlite3* db, const char* name) {
  Stmt s(db, "SELECT value FROM meta WHERE name = ?");
  s.Text(1, name);
  return sqlite3_step(s.get()) == SQLITE_ROW ? s.ColText(0) : std::string();
}

}  // namespace

Result<std::unique_ptr<CopyRunLog>> CopyRunLog::Open(const std::string& state_dir, const std::string& destination,
                                                     const std::string& bucket_url) {
  if (Status st = MakeDirs(state_dir, 0700); !st.ok()) return st.error();
  auto db = OpenCopyDb(state_dir + "/runs-" + DestinationId(destination) + ".db");
  if (!db.ok()) return db.error();
  std::unique_ptr<CopyRunLog> log(new CopyRunLog(*db));
  for (const auto& [name, value] : {std::pair<const char*, std::string>{"destination", destination},
                                    {"bucket_url", bucket_url}}) {
    Stmt s(*db, "INSERT OR REPLACE INTO meta(name, value) VALUES(?, ?)");
    s.Text(1, name);
    s.Text(2, value);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(*db, "recording the destination");
  }
  return log;
}

Result<std::vector<std::pair<std::string, std::unique_ptr<CopyRunLog>>>> CopyRunLog::Find(
    const std::string& state_dir, const std::string& bucket_url) {
  std::vector<std::pair<std::string, std::unique_ptr<CopyRunLog>>> found;
  DIR* dir = ::opendir(state_dir.c_str());
  if (!dir) return found;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind("runs-", 0) != 0 || name.size() < 8 || name.compare(name.size() - 3, 3, ".db") != 0) continue;
    auto db = OpenCopyDb(state_dir + "/" + name);
    if (!db.ok()) continue;
    std::unique_ptr<CopyRunLog> log(new CopyRunLog(*db));
    if (Meta(*db, "bucket_url") == bucket_url) found.emplace_back(Meta(*db, "destination"), std::move(log));
  }
  ::closedir(dir);
  return found;
}

CopyRunLog::~CopyRunLog() { sqlite3_close(db_); }

}  // namespace riptide::engine
