// SQLite helpers shared by the manifest and the run logs: statements that finalize
// themselves, one error wording, and connections opened in WAL mode.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "transport/result.h"

namespace riptide::engine::sql {

int64_t NowMs();
Error SqlError(sqlite3* db, const std::string& what);
Status Exec(sqlite3* db, const char* sql);
/// Opens (creating) `path` in WAL mode with synchronous=NORMAL and a busy timeout.
Result<sqlite3*> OpenDb(const std::string& path);

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
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
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace riptide::engine::sql
