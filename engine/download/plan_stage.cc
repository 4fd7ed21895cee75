#include <oneapi/tbb/parallel_for.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/core/md5_lanes.h"
#include "engine/download/stages.h"
#include "engine/state/inspect.h"
#include "planner/key_mapping.h"
#include "planner/name_form.h"
#include "planner/part_plan.h"
#include "transport/s3/responses.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

bool IsFolderKey(const std::string& key) { return !key.empty() && key.back() == '/'; }

// The object's only proof is one MD5 stream the lanes can share: a plain MD5 ETag, no
// checksum listed.
bool OneMd5Stream(const s3::ObjectInfo& object) {
  return s3::IsPlainMd5Etag(object.etag) && object.checksum_algorithm.empty();
}

}  // namespace

PlanStage::PlanStage(RunContext& ctx)
    : ctx_(ctx),
      cursor_(ctx.manifest.Cursor()),
      differ_(*cursor_, planner::DiffOptions{!ctx.options.keys.empty() || !ctx.options.keys_file.empty(),
                                             ctx.options.compare_last_modified}) {}

void PlanStage::Decide(const s3::ListPage& page) {
  decisions_.clear();
  differ_.Feed(page.objects, &decisions_);
  if (!page.is_truncated) {
    differ_.Finish(&decisions_);
    ctx_.listing_complete = true;
    ctx_.stats.listing_done = true;
  }
  if (ctx_.listing_sorted && !differ_.listing_sorted()) {
    spdlog::warn("the server lists keys out of order: each key is looked up instead, and what left the bucket "
                 "is found from the keys listed");
  }
  ctx_.listing_sorted = differ_.listing_sorted();
  huge_in_view_ = 0;
  for (const planner::Decision& d : decisions_) {
    using Action = planner::Decision::Action;
    huge_in_view_ += (d.action == Action::kNew || d.action == Action::kChanged) &&
                     d.object.size >= planner::kWideAlone && OneMd5Stream(d.object);
  }
  local_changed_.assign(decisions_.size(), 0);
  if (!ctx_.options.checksum) return;
  // --checksum: re-hash the local copies of unchanged objects, the page's files in parallel.
  oneapi::tbb::parallel_for(size_t{0}, decisions_.size(), [&](size_t i) {
    const auto& d = decisions_[i];
    if (d.action != planner::Decision::Action::kUnchanged || IsFolderKey(d.object.key)) return;
    local_changed_[i] = CheckLocalCopy(ctx_.dataset, d.known.path, d.known.size, d.known.xxh3) != LocalCopy::kSame;
  });
}

// Unchanged in the bucket: fetch it again only if the local copy drifted (deleted,
// truncated, edited: size or mtime differ from what was committed, or with --checksum
// its content).
bool PlanStage::LocalCopyDrifted(size_t i) {
  const planner::Decision& d = decisions_[i];
  if (IsFolderKey(d.object.key)) return false;
  if (ctx_.options.checksum) return local_changed_[i];
  auto local = ctx_.dataset.StatFile(d.known.path);
  return !(local && local->first == d.known.size && local->second == d.known.local_mtime_ns);
}

TransferPtr PlanStage::ToTransfer(size_t i) {
  using Action = planner::Decision::Action;
  const planner::Decision& d = decisions_[i];
  if (!ctx_.options.filter.empty() && d.object.key.size() >= ctx_.prefix.size() &&
      !ctx_.options.filter.Included(std::string_view(d.object.key).substr(ctx_.prefix.size()))) {
    ctx_.stats.excluded++;  // neither fetched nor, with --delete, deleted
    return nullptr;
  }
  if (d.retracts_gone) {
    // Listed out of order after its row was passed over: it did not leave the bucket.
    ctx_.stats.gone--;
    if (ctx_.options.delete_extraneous) ctx_.gone_retracted.insert(d.object.key);
    if (ctx_.plan_out) ctx_.plan_out->Retract(PlanWriter::Kind::kDelete, d.object.key, d.known.size);
  }
  if (d.action == Action::kGone) {
    ctx_.stats.gone++;
    if (ctx_.options.delete_extraneous) ctx_.gone.push_back(d.known);
    if (ctx_.plan_out) ctx_.plan_out->Add(PlanWriter::Kind::kDelete, d.known.key, d.known.size);
    return nullptr;
  }
  ctx_.stats.listed++;
  planner::KeyMapping m = planner::MapKey(d.object.key, ctx_.prefix);
  if (m.kind != planner::KeyMapping::Kind::kRefused) {
    if (std::string why = FolderConflict(d, m); !why.empty()) {
      m.kind = planner::KeyMapping::Kind::kRefused;
      m.reason = std::move(why);
    }
  }
  if (m.kind != planner::KeyMapping::Kind::kRefused && (ctx_.dataset.folds_case() || ctx_.dataset.normalizes_names())) {
    if (std::string why = NameConflict(m.path); !why.empty()) {
      m.kind = planner::KeyMapping::Kind::kRefused;
      m.reason = std::move(why);
    }
  }
  const bool refused = m.kind == planner::KeyMapping::Kind::kRefused;
  const bool drift = d.action == Action::kUnchanged && !refused && LocalCopyDrifted(i);
  if (d.action == Action::kUnchanged && !refused && !drift) {
    ctx_.stats.AddUnchanged(d.object.key, d.object.size, d.object.key, d.object.etag);
    return nullptr;
  }
  if (drift) ctx_.stats.drifted++;
  if (refused) {
    ctx_.stats.refused++;
    ctx_.stats.AddFailure(d.object.key, "refused: " + m.reason);
    return nullptr;
  }
  if (ctx_.plan_out) {
    ctx_.plan_out->Add(d.action == Action::kNew ? PlanWriter::Kind::kNew : PlanWriter::Kind::kModified,
                       d.object.key, d.object.size, drift);
  }
  return MakeTransfer(d, std::move(m));
}

TransferPtr PlanStage::MakeTransfer(const planner::Decision& d, planner::KeyMapping m) {
  auto t = std::make_shared<Transfer>();
  t->object = d.object;
  t->path = std::move(m.path);
  t->folder = m.kind == planner::KeyMapping::Kind::kFolder;
  t->slots = Slots(t->object);
  ctx_.stats.planned++;
  if (d.action == planner::Decision::Action::kNew) ctx_.stats.planned_new++;
  return t;
}

// The budget's limit now, whether the object's proof is one MD5 stream, and (for a huge
// one) how many huge ones this page brings decide its requests at once.
int PlanStage::Slots(const s3::ObjectInfo& object) const {
  return planner::ObjectSlots(object.size, planner::PartCount(object.size, ctx_.options.parts), ctx_.budget.limit(),
                              OneMd5Stream(object), md5::HaveLanes() ? md5::Width() : 0, huge_in_view_);
}

std::string PlanStage::FolderConflict(const planner::Decision& d, const planner::KeyMapping& m) {
  // Only a listing in key order keeps the keys that start with "a" together.
  if (!ctx_.listing_sorted || !ctx_.options.keys.empty() || !ctx_.options.keys_file.empty()) return {};
  const std::string& key = d.object.key;
  while (!file_keys_.empty() && key.compare(0, file_keys_.back().key.size(), file_keys_.back().key) != 0) {
    file_keys_.pop_back();
  }
  using State = FileKey::State;
  for (FileKey& owner : file_keys_) {
    if (key.size() <= owner.key.size() || key[owner.key.size()] != '/') continue;
    // Only now, on a conflict, ask the disk: a folder of that name from earlier runs
    // keeps its place (the new object then fails to rename onto it).
    if (owner.state == State::kUnchecked) {
      owner.state = ctx_.dataset.IsFolder(owner.path) ? State::kFolder : State::kFile;
    }
    if (owner.state == State::kFile) {
      return "'" + owner.key + "' is an object, so it cannot also be a folder: the key that sorts first wins";
    }
  }
  if (m.kind == planner::KeyMapping::Kind::kFile) {
    const bool on_disk = d.action == planner::Decision::Action::kUnchanged;
    file_keys_.push_back({key, m.path, on_disk ? State::kFile : State::kUnchecked});
  }
  return {};
}

// "README" and "readme", or "Dir/a" and "dir/b", are one name where case folds, as are
// the NFC and NFD spellings of "é" where names are normalised: the key listed first keeps
// the name and a later one is refused, never written over it. Each folder on the path and
// the path itself are checked.
std::string PlanStage::NameConflict(const std::string& path) {
  const bool folds = ctx_.dataset.folds_case(), normalizes = ctx_.dataset.normalizes_names();
  for (size_t end = path.find('/');; end = path.find('/', end + 1)) {
    std::string part = end == std::string::npos ? path : path.substr(0, end);
    auto [it, fresh] = name_forms_.emplace(planner::NameForm(part, folds, normalizes), part);
    if (!fresh && it->second != part) {
      const char* what = folds && normalizes ? "case-insensitive file system, which normalises Unicode names"
                         : folds             ? "case-insensitive file system"
                                             : "file system, which normalises Unicode names";
      return "'" + part + "' and '" + it->second + "' are one name on this " + what + ": the key listed first keeps it";
    }
    if (end == std::string::npos) return {};
  }
}

void PlanStage::PrepareTemp(const TransferPtr& t) {
  if (t->folder) return;
  ScopedTimer timer(ctx_.stats.ns_create);
  const uint64_t part_size = ctx_.options.parts.part_size_bytes;
  const bool ranged = planner::PartCount(t->object.size, ctx_.options.parts) > 1;
  if (ranged) {
    // An interrupted run may have left this very download half done: take it up.
    if (auto partial = ctx_.journal.Find(t->object.key)) {
      if (partial->etag == t->object.etag && partial->size == t->object.size &&
          partial->part_size == part_size && partial->path == t->path) {
        if (auto temp = ctx_.dataset.ReopenTemp(t->path, partial->temp_name, t->object.size); temp.ok()) {
          t->temp = std::move(*temp);
          t->resumed_parts = std::move(partial->done);
          t->journaled = true;
          return;
        }
      }
      // Stale (the object changed, or the part size): drop it and its temp file.
      ctx_.dataset.RemoveTemp(partial->path, partial->temp_name);
      ctx_.journal.Forget(t->object.key);
    }
  }
  auto temp = ctx_.dataset.CreateTemp(t->path, t->object.size);
  if (!temp.ok()) {
    t->error = temp.error();
    return;
  }
  t->temp = std::move(*temp);
  if (ranged) {
    ctx_.journal.Begin({t->object.key, t->object.etag, t->object.size, part_size, t->path, t->temp.temp_name, {}});
    t->journaled = true;
  }
}

}  // namespace riptide::engine
