#include "engine/copy/copy_merge.h"

#include "planner/copy_plan.h"

namespace riptide::engine {

DeleteSpool::~DeleteSpool() {
  if (file_) std::fclose(file_);
}

Status DeleteSpool::Add(const std::string& key, uint64_t size) {
  const uint32_t n = static_cast<uint32_t>(key.size());
  if (!file_ || std::fwrite(&size, sizeof size, 1, file_) != 1 || std::fwrite(&n, sizeof n, 1, file_) != 1 ||
      std::fwrite(key.data(), 1, n, file_) != n) {
    return MakeError(ErrorCode::kIo, "cannot spool the keys to delete to a temp file");
  }
  ++count_;
  return OkStatus();
}

Status DeleteSpool::ForEach(const std::function<Status(const std::string& key, uint64_t size)>& fn) {
  if (count_ == 0) return OkStatus();
  std::rewind(file_);
  std::string key;
  for (uint64_t i = 0; i < count_; ++i) {
    uint64_t size = 0;
    uint32_t n = 0;
    if (std::fread(&size, sizeof size, 1, file_) != 1 || std::fread(&n, sizeof n, 1, file_) != 1) {
      return MakeError(ErrorCode::kIo, "the delete spool is short");
    }
    key.resize(n);
    if (n > 0 && std::fread(key.data(), 1, n, file_) != n) return MakeError(ErrorCode::kIo, "the delete spool is short");
    if (Status st = fn(key, size); !st.ok()) return st;
  }
  return OkStatus();
}

Result<Batch> Merger::Next() {
  auto batch = std::make_shared<std::vector<CopyTaskPtr>>();
  if (!started_) {
    started_ = true;
    if (auto st = AdvanceSource(); !st.ok()) return st.error();
    if (auto st = AdvanceDestination(); !st.ok()) return st.error();
  }
  while ((have_src_ || have_dst_) && batch->size() < kCopyBatch) {
    const bool take_src = have_src_ && (!have_dst_ || src_entry_.rel < dst_entry_.rel);
    const bool take_dst = have_dst_ && (!have_src_ || dst_entry_.rel < src_entry_.rel);
    if (take_src) {
      if (Included(src_entry_.rel)) batch->push_back(Task(true));
      if (auto st = AdvanceSource(); !st.ok()) return st.error();
    } else if (take_dst) {
      if (Included(dst_entry_.rel)) {
        if (Status st = deletes_.Add(dst_entry_.info.key, dst_entry_.info.size); !st.ok()) return st.error();
      }
      if (auto st = AdvanceDestination(); !st.ok()) return st.error();
    } else {
      if (Included(src_entry_.rel)) {
        if (!src_entry_.path.empty() && options_.checksum) {
          batch->push_back(Task(false));
          batch->back()->check_against = dst_entry_.info;
        } else if (Changed()) {
          batch->push_back(Task(false));
        } else {
          stats_.AddUnchanged(dst_entry_.info.key, src_entry_.info.size, src_entry_.info.key, src_entry_.info.etag);
        }
      }
      if (auto st = AdvanceSource(); !st.ok()) return st.error();
      if (auto st = AdvanceDestination(); !st.ok()) return st.error();
    }
  }
  if (batch->empty() && !have_src_ && !have_dst_) return Batch();
  return batch;
}

bool Merger::Included(const std::string& rel) {
  if (options_.filter.empty() || options_.filter.Included(rel)) return true;
  stats_.excluded++;
  return false;
}

Status Merger::AdvanceSource() {
  auto r = src_.Next(&src_entry_);
  if (!r.ok()) return r.error();
  have_src_ = *r;
  if (have_src_) stats_.listed++;
  return OkStatus();
}

Status Merger::AdvanceDestination() {
  if (!dst_) return OkStatus();
  auto r = dst_->Next(&dst_entry_);
  if (!r.ok()) return r.error();
  have_dst_ = *r;
  return OkStatus();
}

bool Merger::Changed() {
  const s3::ObjectInfo& dst = dst_entry_.info;
  if (!src_entry_.path.empty()) {
    return !planner::LocalFileUnchanged(src_entry_.info.size, src_entry_.info.last_modified_ms, dst);
  }
  switch (planner::CompareObjects(src_entry_.info, dst)) {
    case planner::Sameness::kSame: return false;
    case planner::Sameness::kDifferent: return true;
    case planner::Sameness::kUnknown: return options_.checksum;  // equal sizes: proof only by copying
  }
  return true;
}

CopyTaskPtr Merger::Task(bool is_new) {
  auto t = std::make_shared<CopyTask>();
  t->source = src_entry_;
  t->dst_key = options_.destination.prefix + src_entry_.rel;
  t->is_new = is_new;
  return t;
}

}  // namespace riptide::engine
