#include "engine/state/manifest.h"

#include <sqlite3.h>

#include <chrono>

namespace riptide::engine {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects(
  key TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified_ms INTEGER NOT NULL,
  xxh3 TEXT NOT NULL,
  local_mtime_ns INTEGER NOT NULL,
  verified_by TEXT NOT NULL,
  synced_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
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
CREATE INDEX IF NOT EXISTS objects_by_path ON objects(path);
)sql";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error SqlError(sqlite3* db, const std::string& what) {
  return MakeError(ErrorCode::kIo, "manifest: " + what + ": " + sqlite3_errmsg(db));
}

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  std::string ColText(int i) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, i)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return MakeError(ErrorCode::kIo, std::string("manifest: ") + msg);
  }
  return OkStatus();
}

Result<sqlite3*> OpenDb(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Error e = SqlError(db, "cannot open " + path);
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 10000);
  // NORMAL is durable in WAL mode at each checkpoint; the dataset's syncfs precedes every
  // commit, so the manifest never runs ahead of the files.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"}) {
    if (Status st = Exec(db, pragma); !st.ok()) {
      sqlite3_close(db);
      return st.error();
    }
  }
  return db;
}

constexpr const char* kRowColumns =
    "SELECT key, path, size, etag, last_modified_ms, xxh3, local_mtime_ns, verified_by, synced_at_ms "
    "FROM objects ";

ObjectRow ReadObjectRow(Stmt& s) {
  ObjectRow r;
  r.key = s.ColText(0);
  r.path = s.ColText(1);
  r.size = static_cast<uint64_t>(s.ColInt(2));
  r.etag = s.ColText(3);
  r.last_modified_ms = s.ColInt(4);
  r.xxh3 = s.ColText(5);
  r.local_mtime_ns = s.ColInt(6);
  r.verified_by = s.ColText(7);
  r.synced_at_ms = s.ColInt(8);
  return r;
}

// The columns Row() reads, in its order.
#define ENTRY_COLUMNS "key, size, etag, last_modified_ms, path, local_mtime_ns, xxh3"

planner::ManifestEntry Row(Stmt& s) {
  return planner::ManifestEntry{s.ColText(0), static_cast<uint64_t>(s.ColInt(1)), s.ColText(2), s.ColInt(3),
                                s.ColText(4), s.ColInt(5), s.ColText(6)};
}

class ChunkedCursor final : public planner::ManifestCursor {
 public:
  explicit ChunkedCursor(sqlite3* db) : db_(db) { Load(); }
  const planner::ManifestEntry* Current() override {
    return pos_ < rows_.size() ? &rows_[pos_] : nullptr;
  }
  void Next() override {
    if (++pos_ >= rows_.size() && !done_) Load();
  }
  std::optional<planner::ManifestEntry> Find(const std::string& key) override {
    Stmt s(db_, "SELECT " ENTRY_COLUMNS " FROM objects WHERE key = ?");
    s.Text(1, key);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    return Row(s);
  }

 private:
  static constexpr int kChunk = 2000;
  void Load() {
    std::string after = rows_.empty() ? std::string() : rows_.back().key;
    bool first = rows_.empty() && !started_;
    started_ = true;
    rows_.clear();
    pos_ = 0;
    Stmt s(db_, first ? "SELECT " ENTRY_COLUMNS " FROM objects "
                        "ORDER BY key LIMIT ?2"
                      : "SELECT " ENTRY_COLUMNS " FROM objects "
                        "WHERE key > ?1 ORDER BY key LIMIT ?2");
    if (!first) s.Text(1, after);
    s.Int(2, kChunk);
    while (sqlite3_step(s.get()) == SQLITE_ROW) rows_.push_back(Row(s));
    done_ = rows_.size() < static_cast<size_t>(kChunk);
  }
  sqlite3* db_;
  std::vector<planner::ManifestEntry> rows_;
  size_t pos_ = 0;
  bool done_ = false;
  bool started_ = false;
};

}  // namespace

Result<std::unique_ptr<Manifest>> Manifest::Open(const std::string& state_dir) {
  const std::string path = state_dir + "/manifest.db";
  auto writer = OpenDb(path);
  if (!writer.ok()) return writer.error();
  if (Status st = Exec(*writer, kSchema); !st.ok()) {
    sqlite3_close(*writer);
    return st.error();
  }
  auto reader = OpenDb(path);
  if (!reader.ok()) {
    sqlite3_close(*writer);
    return reader.error();
  }
  return std::unique_ptr<Manifest>(new Manifest(*reader, *writer));
}

Manifest::~Manifest() {
  sqlite3_close(reader_);
  sqlite3_close(writer_);
}

Status Manifest::BindSource(const std::string& source) {
  Stmt get(writer_, "SELECT value FROM meta WHERE name = 'source'");
  if (sqlite3_step(get.get()) == SQLITE_ROW) {
    std::string bound = get.ColText(0);
    if (bound != source) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "this dataset is a mirror of " + bound + ", not of " + source +
                           ": use another directory (or --state-dir)");
    }
    return OkStatus();
  }
  Stmt put(writer_, "INSERT INTO meta(name, value) VALUES('source', ?)");
  put.Text(1, source);
  if (sqlite3_step(put.get()) != SQLITE_DONE) return SqlError(writer_, "recording the source");
  return OkStatus();
}

std::unique_ptr<planner::ManifestCursor> Manifest::Cursor() {
  return std::make_unique<ChunkedCursor>(reader_);
}

Status Manifest::Upsert(const std::vector<ObjectRow>& rows) {
  if (rows.empty()) return OkStatus();
  if (Status st = Exec(writer_, "BEGIN IMMEDIATE"); !st.ok()) return st;
  Stmt s(writer_,
         "INSERT INTO objects(key, path, size, etag, last_modified_ms, xxh3, local_mtime_ns, "
         "verified_by, synced_at_ms) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
         "path=excluded.path, size=excluded.size, etag=excluded.etag, "
         "last_modified_ms=excluded.last_modified_ms, xxh3=excluded.xxh3, "
         "local_mtime_ns=excluded.local_mtime_ns, verified_by=excluded.verified_by, "
         "synced_at_ms=excluded.synced_at_ms");
  const int64_t now = NowMs();
  for (const ObjectRow& r : rows) {
    s.Text(1, r.key);
    s.Text(2, r.path);
    s.Int(3, static_cast<int64_t>(r.size));
    s.Text(4, r.etag);
    s.Int(5, r.last_modified_ms);
    s.Text(6, r.xxh3);
    s.Int(7, r.local_mtime_ns);
    s.Text(8, r.verified_by);
    s.Int(9, now);
    if (sqlite3_step(s.get()) != SQLITE_DONE) {
      Error e = SqlError(writer_, "writing a row");
      (void)Exec(writer_, "ROLLBACK");
      return e;
    }
    sqlite3_reset(s.get());
  }
  if (Status st = Exec(writer_, "COMMIT"); !st.ok()) return st;
  return OkStatus();
}

Result<int64_t> Manifest::BeginRun(const std::string& source) {
  Stmt s(writer_, "INSERT INTO runs(source, started_ms, status) VALUES(?, ?, 'running')");
  s.Text(1, source);
  s.Int(2, NowMs());
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(writer_, "recording the run");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(writer_));
}

Status Manifest::EndRun(const RunRecord& run) {
  Stmt s(writer_,
         "UPDATE runs SET ended_ms=?, listed=?, transferred=?, skipped=?, failed=?, bytes=?, "
         "status=? WHERE id=?");
  s.Int(1, NowMs());
  s.Int(2, static_cast<int64_t>(run.listed));
  s.Int(3, static_cast<int64_t>(run.transferred));
  s.Int(4, static_cast<int64_t>(run.skipped));
  s.Int(5, static_cast<int64_t>(run.failed));
  s.Int(6, static_cast<int64_t>(run.bytes));
  s.Text(7, run.status);
  s.Int(8, run.id);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(writer_, "closing the run");
  return OkStatus();
}

Status Manifest::Delete(const std::vector<std::string>& keys) {
  if (keys.empty()) return OkStatus();
  if (Status st = Exec(writer_, "BEGIN IMMEDIATE"); !st.ok()) return st;
  Stmt s(writer_, "DELETE FROM objects WHERE key = ?");
  for (const auto& key : keys) {
    s.Text(1, key);
    sqlite3_step(s.get());
    sqlite3_reset(s.get());
  }
  return Exec(writer_, "COMMIT");
}

Result<Manifest::Totals> Manifest::GetTotals() {
  Totals t;
  Stmt src(writer_, "SELECT value FROM meta WHERE name = 'source'");
  if (sqlite3_step(src.get()) == SQLITE_ROW) t.source = src.ColText(0);
  Stmt s(writer_, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects");
  if (sqlite3_step(s.get()) != SQLITE_ROW) return SqlError(writer_, "counting");
  t.objects = static_cast<uint64_t>(s.ColInt(0));
  t.bytes = static_cast<uint64_t>(s.ColInt(1));
  return t;
}

Result<std::vector<RunRecord>> Manifest::RecentRuns(int n) {
  Stmt s(writer_,
         "SELECT id, source, started_ms, COALESCE(ended_ms, 0), listed, transferred, skipped, failed, bytes, "
         "status FROM runs ORDER BY id DESC LIMIT ?");
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

Status Manifest::ForEachChunk(size_t chunk, const std::function<void(std::vector<ObjectRow>&)>& fn) {
  std::string after;
  for (bool first = true;; first = false) {
    const std::string sql = std::string(kRowColumns) + (first ? "" : "WHERE key > ?1 ") + "ORDER BY key LIMIT ?2";
    Stmt s(reader_, sql.c_str());
    if (!first) s.Text(1, after);
    s.Int(2, static_cast<int64_t>(chunk));
    std::vector<ObjectRow> rows;
    while (sqlite3_step(s.get()) == SQLITE_ROW) rows.push_back(ReadObjectRow(s));
    if (rows.empty()) return OkStatus();
    after = rows.back().key;
    const bool last = rows.size() < chunk;
    fn(rows);
    if (last) return OkStatus();
  }
}

Result<bool> Manifest::HasPath(const std::string& path) {
  Stmt s(reader_, "SELECT 1 FROM objects WHERE path = ? LIMIT 1");
  s.Text(1, path);
  return sqlite3_step(s.get()) == SQLITE_ROW;
}

Result<std::vector<std::pair<std::string, std::string>>> Manifest::LastFailures() {
  Stmt s(writer_,
         "SELECT key, reason FROM failures WHERE run_id = (SELECT MAX(id) FROM runs WHERE status != 'running')");
  std::vector<std::pair<std::string, std::string>> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) out.emplace_back(s.ColText(0), s.ColText(1));
  return out;
}

Status Manifest::RecordFailures(int64_t run_id, const std::vector<std::pair<std::string, std::string>>& failures) {
  if (failures.empty()) return OkStatus();
  if (Status st = Exec(writer_, "BEGIN IMMEDIATE"); !st.ok()) return st;
  Stmt s(writer_, "INSERT INTO failures(run_id, key, reason) VALUES(?, ?, ?)");
  for (size_t i = 0; i < failures.size() && i < 1000; ++i) {
    s.Int(1, run_id);
    s.Text(2, failures[i].first);
    s.Text(3, failures[i].second);
    sqlite3_step(s.get());
    sqlite3_reset(s.get());
  }
  return Exec(writer_, "COMMIT");
}

Result<std::string> Manifest::LastRunStatus() {
  Stmt s(writer_, "SELECT status FROM runs ORDER BY id DESC LIMIT 1");
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqlError(writer_, "reading the last run");
  return s.ColText(0);
}

}  // namespace riptide::engine
