#include "engine/state/sqlite.h"

#include <chrono>

namespace riptide::engine::sql {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error SqlError(sqlite3* db, const std::string& what) {
  return MakeError(ErrorCode::kIo, "manifest: " + what + ": " + sqlite3_errmsg(db));
}

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
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
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

}  // namespace riptide::engine::sql
