#include "engine/state/manifest.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "engine/state/sqlite.h"

namespace riptide::engine {
namespace {

using sql::Exec;
using sql::NowMs;
using sql::OpenDb;
using sql::SqlError;
using sql::Stmt;

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
CREATE INDEX IF NOT EXISTS objects_by_path ON objects(path);
)sql";

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
  // The keys a listing out of order named, in a temporary table (a file SQLite removes
  // when the connection closes): memory stays bounded however many there are.
  // One insert per key listed once order broke: prepared once, reset per key.
  void MarkListed(const std::string& key) override {
    if (!mark_) {
      (void)Exec(db_, "CREATE TEMP TABLE IF NOT EXISTS listed(key TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM listed;");
      mark_ = std::make_unique<Stmt>(db_, "INSERT OR IGNORE INTO temp.listed(key) VALUES(?)");
    }
    sqlite3_reset(mark_->get());
    mark_->Text(1, key);
    sqlite3_step(mark_->get());
  }
  void RewindUnlisted(const std::string& after) override {
    unlisted_ = mark_ != nullptr;
    rows_.clear();
    rows_.emplace_back().key = after;  // Load() goes on after the last row
    started_ = true;
    done_ = false;
    Load();
  }

 private:
  static constexpr int kChunk = 2000;
  void Load() {
    std::string after = rows_.empty() ? std::string() : rows_.back().key;
    bool first = rows_.empty() && !started_;
    started_ = true;
    rows_.clear();
    pos_ = 0;
    const char* sql = first       ? "SELECT " ENTRY_COLUMNS " FROM objects ORDER BY key LIMIT ?2"
                      : unlisted_ ? "SELECT " ENTRY_COLUMNS " FROM objects WHERE key > ?1 AND "
                                    "key NOT IN (SELECT key FROM temp.listed) ORDER BY key LIMIT ?2"
                                  : "SELECT " ENTRY_COLUMNS " FROM objects WHERE key > ?1 ORDER BY key LIMIT ?2";
    Stmt s(db_, sql);
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
  std::unique_ptr<Stmt> mark_;  // the temp table exists once this does
  bool unlisted_ = false;
};

}  // namespace

Result<std::unique_ptr<Manifest>> Manifest::Open(const std::string& state_dir) {
  const std::string path = state_dir + "/manifest.db";
  auto writer = OpenDb(path);
  if (!writer.ok()) return writer.error();
  // The runs and failures tables are the run log's (RunLog::Schema), as they always were.
  const std::string schema = std::string(kSchema) + RunLog::Schema();
  if (Status st = Exec(*writer, schema.c_str()); !st.ok()) {
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
    if (bound == source) return OkStatus();
    // A dataset that holds nothing yet (a first run that failed, a prefix that listed
    // nothing) is not a mirror of anything: a corrected command may take it over.
    Stmt any(writer_, "SELECT 1 FROM objects LIMIT 1");
    if (sqlite3_step(any.get()) != SQLITE_ROW) {
      Stmt set(writer_, "UPDATE meta SET value = ? WHERE name = 'source'");
      set.Text(1, source);
      if (sqlite3_step(set.get()) != SQLITE_DONE) return SqlError(writer_, "recording the source");
      spdlog::info("the dataset held nothing from {}: it now mirrors {}", bound, source);
      return OkStatus();
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "this dataset is a mirror of " + bound + ", not of " + source +
                         ": use another directory, or remove its .riptide folder to start it over (every "
                         "object is then fetched again)");
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
}  // namespace riptide::engine
