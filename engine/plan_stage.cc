#include "engine/stages.h"
#include "planner/key_mapping.h"
#include "planner/part_plan.h"

#include <algorithm>

namespace riptide::engine {

PlanStage::PlanStage(RunContext& ctx)
    : ctx_(ctx), cursor_(ctx.manifest.Cursor()), differ_(*cursor_) {}

TransferPtr PlanStage::Decide(const planner::Decision& d) {
  using Action = planner::Decision::Action;
  if (!ctx_.options.filter.empty() && d.object.key.size() >= ctx_.prefix.size() &&
      !ctx_.options.filter.Included(std::string_view(d.object.key).substr(ctx_.prefix.size()))) {
    ctx_.stats.excluded++;  // neither fetched nor, with --delete, deleted
    return nullptr;
  }
  switch (d.action) {
    case Action::kGone:
      ctx_.stats.gone++;
      if (ctx_.options.delete_extraneous) ctx_.gone.push_back(d.known);
      return nullptr;
    case Action::kUnchanged: {
      ctx_.stats.listed++;
      // Unchanged in the bucket; fetch it again only if the local copy drifted (deleted,
      // truncated, edited: size or mtime differ from what was committed).
      const bool folder = !d.object.key.empty() && d.object.key.back() == '/';
      auto local = folder ? std::nullopt : ctx_.dataset.StatFile(d.known.path);
      if (folder || (local && local->first == d.known.size && local->second == d.known.local_mtime_ns)) {
        ctx_.stats.skipped++;
        return nullptr;
      }
      ctx_.stats.drifted++;
      break;
    }
    case Action::kNew:
    case Action::kChanged:
      ctx_.stats.listed++;
      break;
  }
  planner::KeyMapping m = planner::MapKey(d.object.key, ctx_.prefix);
  if (m.kind == planner::KeyMapping::Kind::kRefused) {
    ctx_.stats.refused++;
    ctx_.stats.AddFailure(d.object.key, "refused: " + m.reason);
    return nullptr;
  }
  auto t = std::make_shared<Transfer>();
  t->object = d.object;
  t->path = std::move(m.path);
  t->folder = m.kind == planner::KeyMapping::Kind::kFolder;
  // An object may run as many requests at once as it has parts, within the budget.
  const uint64_t parts = planner::PartCount(t->object.size, ctx_.options.parts);
  t->slots = static_cast<int>(std::min<uint64_t>(parts, static_cast<uint64_t>(ctx_.budget.total())));
  ctx_.stats.planned++;
  return t;
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
