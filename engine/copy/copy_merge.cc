#include "engine/copy/copy_merge.h"

#include <spdlog/spdlog.h>

#include "planner/copy_plan.h"

namespace riptide::engine {

Result<Batch> Merger::Next() {
  auto batch = std::make_shared<std::vector<CopyTaskPtr>>();
  if (!started_) {
    started_ = true;
    if (auto st = AdvanceSource(); !st.ok()) return st.error();
    if (auto st = AdvanceDestination(); !st.ok()) return st.error();
  }
  while ((have_src_ || have_dst_) && batch->size() < kCopyBatch) {
    if (!resorted_ && (!src_->sorted() || (dst_ && !dst_->sorted()))) {
      if (Status st = Resort(); !st.ok()) return st.error();
      continue;
    }
    const bool take_src = have_src_ && (!have_dst_ || src_entry_.rel < dst_entry_.rel);
    const bool take_dst = have_dst_ && (!have_src_ || dst_entry_.rel < src_entry_.rel);
    if (take_src) {
      if (Included(src_entry_.rel)) batch->push_back(Task(true));
      if (auto st = AdvanceSource(); !st.ok()) return st.error();
    } else if (take_dst) {
      if (Included(dst_entry_.rel)) {
        if (Status st = DestinationOnly(); !st.ok()) return st.error();
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

Status Merger::DestinationOnly() {
  if (resorted_ && src_decided_ && dst_entry_.rel <= *src_decided_) {
    auto there = source_.Contains(dst_entry_.rel);
    if (!there.ok()) return there.error();
    if (*there) return OkStatus();  // copied before the disorder showed
  }
  return deletes_.Add(dst_entry_);
}

namespace {

// The entry in hand (when `have`) and the rest of `stream`, into `spool`.
Status DrainInto(ObjectStream& stream, StreamEntry& head, bool have, SortedSpool& spool) {
  for (bool more = have; more;) {
    if (Status st = spool.Add(std::move(head)); !st.ok()) return st;
    auto r = stream.Next(&head);
    if (!r.ok()) return r.error();
    more = *r;
  }
  return OkStatus();
}

}  // namespace

Status Merger::Resort() {
  spdlog::warn("the server lists keys out of order: the rest of both listings is sorted on disk before they are "
               "compared");
  resorted_ = true;
  sorted_src_ = std::make_unique<SortedSpool>(sort_budget_);
  if (have_src_) stats_.listed--;  // counted again when the spool hands it out
  Status st = DrainInto(*src_, src_entry_, have_src_, *sorted_src_);
  if (st.ok()) st = sorted_src_->Seal();
  if (!st.ok()) return st;
  src_ = sorted_src_.get();
  if (dst_) {
    sorted_dst_ = std::make_unique<SortedSpool>(sort_budget_);
    st = DrainInto(*dst_, dst_entry_, have_dst_, *sorted_dst_);
    // Deletes decided so far go back into the walk: the source may list them late.
    if (st.ok()) st = deletes_.ForEach([&](StreamEntry& e) { return sorted_dst_->Add(std::move(e)); });
    if (st.ok()) st = deletes_.Clear();
    if (st.ok()) st = sorted_dst_->Seal();
    if (!st.ok()) return st;
    dst_ = sorted_dst_.get();
  }
  if (Status st = AdvanceSource(); !st.ok()) return st;
  return AdvanceDestination();
}

Status Merger::AdvanceSource() {
  if (have_src_ && !resorted_) src_decided_ = src_entry_.rel;
  auto r = src_->Next(&src_entry_);
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
