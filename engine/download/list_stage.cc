#include <algorithm>

#include "engine/core/listing.h"
#include "engine/download/stages.h"

namespace riptide::engine {
namespace {

s3::ListParams Params(const RunContext& ctx) {
  s3::ListParams p;
  p.prefix = ctx.prefix;
  p.max_keys = ctx.options.list_page_size;
  if (ctx.options.range_after > p.prefix) p.start_after = ctx.options.range_after;
  return p;
}

}  // namespace

ListStage::ListStage(RunContext& ctx)
    : ctx_(ctx),
      reader_(ListTarget{ctx.transport, ctx.requests, ctx.options.bucket, ctx.options.retry, &ctx.stop,
                         &ctx.stats},
              Params(ctx), ctx.options.list_concurrency, ctx.options.range_last) {}

Status ListStage::Start() {
  if (Status st = reader_.Start(); !st.ok()) {
    Error e = st.error();
    e.message = "cannot list s3://" + ctx_.options.bucket + "/" + ctx_.prefix + ": " + e.message;
    return e;
  }
  return OkStatus();
}

PagePtr ListStage::Next() {
  if (past_range_) return nullptr;
  auto page = reader_.Next();
  const std::string& last = ctx_.options.range_last;
  if (page.ok() && *page && !last.empty()) {
    // A shard ends at its last key: the page is cut there and the listing stops.
    const auto& objects = (*page)->objects;
    auto beyond = std::find_if(objects.begin(), objects.end(), [&](const s3::ObjectInfo& o) { return o.key > last; });
    if (beyond != objects.end()) {
      auto cut = std::make_shared<s3::ListPage>();
      cut->objects.assign(objects.begin(), beyond);
      past_range_ = true;
      return cut;
    }
  }
  if (page.ok()) return *page;
  if (ctx_.stop) return nullptr;  // cancelled by a stop, not a failure
  Error e = page.error();
  e.message = "listing failed part-way: " + e.message;
  ctx_.Fail(std::move(e));
  return nullptr;
}

}  // namespace riptide::engine
