#include <cerrno>

#include <spdlog/spdlog.h>

#include "engine/download/stages.h"

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
  ScopedTimer timer(ctx_.stats.ns_commit);
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
        if (t->ProvedByChecksum()) ctx_.stats.checksum_verified++;
      }
    }
    if (!t->error) {
      spdlog::info("fetched {} ({} bytes, verified by {})", t->path, t->object.size, row.verified_by);
      pending_.push_back(std::move(row));
      ctx_.stats.bytes_committed += t->object.size;
      ctx_.stats.AddTransferred(t->object.key, t->object.size, t->object.key, t->object.etag);
    }
  }
  // A download stopped by the run or the network stays on disk, journaled, for the
  // next run to finish; anything else is forgotten.
  const bool resumable = t->error && t->journaled &&
                         (t->error->code == ErrorCode::kCancelled || t->error->code == ErrorCode::kNetwork ||
                          t->error->code == ErrorCode::kServer);
  if (t->journaled && !resumable) ctx_.journal.Forget(t->object.key);
  if (t->error) {
    if (!resumable) ctx_.dataset.Discard(t->temp);
    // Objects cut short by a stop are not failures: the next run takes them up.
    if (t->error->code != ErrorCode::kCancelled) {
      ctx_.stats.AddFailure(t->object.key, *t->error);
      spdlog::info("failed: {}: {}", t->object.key, t->error->ToString());
    }
    if (IsFatal(*t->error)) ctx_.Fail(*t->error);
  }
  t->temp = TempFile{};
  ctx_.budget.Release(t->slots);
  if (pending_.size() >= kBatchRows || std::chrono::steady_clock::now() - last_handover_ > kBatchAge) {
    HandOver();
  }
}

void CommitStage::HandOver() {
  last_handover_ = std::chrono::steady_clock::now();
  if (pending_.empty()) return;
  syncer_.Submit(std::move(pending_));
  pending_.clear();
}

Status CommitStage::Finish() {
  HandOver();
  return syncer_.Drain();
}

Syncer::Syncer(RunContext& ctx) : ctx_(ctx), thread_([this] { Loop(); }) {}

Syncer::~Syncer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Syncer::Submit(std::vector<ObjectRow> rows) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.size() < 2; });
  queue_.push_back(std::move(rows));
  cv_.notify_all();
}

Status Syncer::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
  if (error_) return *error_;
  return OkStatus();
}

void Syncer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::vector<ObjectRow> rows = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    cv_.notify_all();
    lock.unlock();
    Status st = OkStatus();
    {
      ScopedTimer timer(ctx_.stats.ns_sync);
      // Renames first made durable, then recorded: the manifest never claims a file a
      // crash could still take back.
      st = ctx_.dataset.Sync();
      if (st.ok()) st = ctx_.manifest.Upsert(rows);
    }
    lock.lock();
    busy_ = false;
    if (!st.ok() && !error_) {
      error_ = st.error();
      ctx_.Fail(st.error());
    }
    cv_.notify_all();
  }
}

}  // namespace riptide::engine
