#include <cerrno>

#include "engine/stages.h"

namespace riptide::engine {
namespace {

constexpr size_t kBatchRows = 512;
constexpr auto kBatchAge = std::chrono::seconds(1);

// A full or read-only disk fails every later object too: stop the run instead.
bool IsFatal(const Error& e) {
  return e.os_errno == ENOSPC || e.os_errno == EROFS || e.os_errno == EDQUOT;
}

}  // namespace

void CommitStage::Commit(const TransferPtr& t) {
  if (!t->error) {
    ObjectRow row;
    row.key = t->object.key;
    row.path = t->path;
    row.size = t->object.size;
    row.etag = t->object.etag;
    row.last_modified_ms = t->object.last_modified_ms;
    if (t->folder) {
      if (Status st = ctx_.dataset.MakeFolder(t->path); !st.ok()) {
        t->error = st.error();
      } else {
        row.verified_by = "folder";
      }
    } else {
      auto mtime = ctx_.dataset.Commit(t->temp, t->object.last_modified_ms);
      if (!mtime.ok()) {
        t->error = mtime.error();
      } else {
        row.xxh3 = t->xxh3;
        row.local_mtime_ns = *mtime;
        row.verified_by = t->verified_by;
        if (t->verified_by == "size") ctx_.stats.size_verified_only++;
      }
    }
    if (!t->error) {
      pending_.push_back(std::move(row));
      ctx_.stats.transferred++;
      ctx_.stats.bytes_committed += t->object.size;
    }
  }
  if (t->error) {
    ctx_.dataset.Discard(t->temp);
    ctx_.stats.AddFailure(t->object.key, t->error->ToString());
    if (IsFatal(*t->error)) ctx_.Fail(*t->error);
  }
  t->temp = TempFile{};
  ctx_.budget.Release();
  if (pending_.size() >= kBatchRows || std::chrono::steady_clock::now() - last_flush_ > kBatchAge) {
    if (Status st = Flush(); !st.ok()) ctx_.Fail(st.error());
  }
}

Status CommitStage::Flush() {
  last_flush_ = std::chrono::steady_clock::now();
  if (pending_.empty()) return OkStatus();
  // Renames first made durable, then recorded: the manifest never claims a file a
  // crash could still take back.
  if (Status st = ctx_.dataset.Sync(); !st.ok()) return st;
  Status st = ctx_.manifest.Upsert(pending_);
  pending_.clear();
  return st;
}

}  // namespace riptide::engine
