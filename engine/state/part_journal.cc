#include "engine/state/part_journal.h"

#include <sqlite3.h>
#include <unistd.h>

namespace riptide::engine {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS partial(
  key TEXT PRIMARY KEY, etag TEXT NOT NULL, size INTEGER NOT NULL, part_size INTEGER NOT NULL,
  path TEXT NOT NULL, temp_name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partial_parts(
  key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(key, idx)) WITHOUT ROWID;
)sql";

void Run(sqlite3* db, const char* sql, const std::string& key, int64_t a = 0, const PartialDownload* d = nullptr) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) return;
  sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  if (d) {
    sqlite3_bind_text(s, 2, d->etag.data(), static_cast<int>(d->etag.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, static_cast<int64_t>(d->size));
    sqlite3_bind_int64(s, 4, static_cast<int64_t>(d->part_size));
    sqlite3_bind_text(s, 5, d->path.data(), static_cast<int>(d->path.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, d->temp_name.data(), static_cast<int>(d->temp_name.size()), SQLITE_TRANSIENT);
  } else if (sqlite3_bind_parameter_count(s) >= 2) {
    sqlite3_bind_int64(s, 2, a);
  }
  sqlite3_step(s);
  sqlite3_finalize(s);
}

std::string Col(sqlite3_stmt* s, int i) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, sqlite3_column_bytes(s, i)) : std::string();
}

}  // namespace

Result<std::unique_ptr<PartJournal>> PartJournal::Open(const std::string& state_dir) {
  sqlite3* db = nullptr;
  const std::string path = state_dir + "/manifest.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, nullptr) !=
      SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return MakeError(ErrorCode::kIo, "manifest: cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 10000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db);
    return MakeError(ErrorCode::kIo, "manifest: " + msg);
  }
  return std::unique_ptr<PartJournal>(new PartJournal(db));
}

PartJournal::PartJournal(sqlite3* db) : db_(db), thread_([this] { Loop(); }) {}

PartJournal::~PartJournal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  sqlite3_close(db_);
}

std::optional<PartialDownload> PartJournal::Find(const std::string& key) {
  std::lock_guard<std::mutex> lock(db_mu_);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "SELECT etag, size, part_size, path, temp_name FROM partial WHERE key = ?", -1, &s,
                     nullptr);
  sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  std::optional<PartialDownload> out;
  if (sqlite3_step(s) == SQLITE_ROW) {
    out = PartialDownload{key, Col(s, 0), static_cast<uint64_t>(sqlite3_column_int64(s, 1)),
                          static_cast<uint64_t>(sqlite3_column_int64(s, 2)), Col(s, 3), Col(s, 4), {}};
  }
  sqlite3_finalize(s);
  if (!out) return out;
  sqlite3_prepare_v2(db_, "SELECT idx FROM partial_parts WHERE key = ?", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  while (sqlite3_step(s) == SQLITE_ROW) out->done.insert(sqlite3_column_int(s, 0));
  sqlite3_finalize(s);
  return out;
}

std::set<std::string> PartJournal::TempNames() {
  std::lock_guard<std::mutex> lock(db_mu_);
  std::set<std::string> names;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "SELECT temp_name FROM partial", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) names.insert(Col(s, 0));
  sqlite3_finalize(s);
  return names;
}

void PartJournal::Begin(const PartialDownload& download) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(BeginOp{download});
  cv_.notify_all();
}

void PartJournal::PartDone(const std::string& key, int index, int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(DoneOp{key, index, fd});
  cv_.notify_all();
}

void PartJournal::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(ForgetOp{key});
  cv_.notify_all();
}

void PartJournal::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void PartJournal::Apply(Op& op) {
  if (auto* done = std::get_if<DoneOp>(&op)) {
    // The bytes first, then the record that says they are there.
    const bool durable = ::fdatasync(done->fd) == 0;
    ::close(done->fd);
    if (!durable) return;
    std::lock_guard<std::mutex> lock(db_mu_);
    Run(db_, "INSERT OR IGNORE INTO partial_parts(key, idx) VALUES(?, ?)", done->key, done->index);
    return;
  }
  std::lock_guard<std::mutex> lock(db_mu_);
  if (auto* begin = std::get_if<BeginOp>(&op)) {
    Run(db_, "DELETE FROM partial_parts WHERE key = ?", begin->d.key);
    Run(db_, "INSERT OR REPLACE INTO partial(key, etag, size, part_size, path, temp_name) VALUES(?,?,?,?,?,?)",
        begin->d.key, 0, &begin->d);
  } else if (auto* forget = std::get_if<ForgetOp>(&op)) {
    Run(db_, "DELETE FROM partial WHERE key = ?", forget->key);
    Run(db_, "DELETE FROM partial_parts WHERE key = ?", forget->key);
  }
}

void PartJournal::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Op op = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    Apply(op);
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace riptide::engine
