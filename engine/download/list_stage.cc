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
  auto page = reader_.Next();  // a shard's pages end at its last key (the reader cuts them)
  if (page.ok()) return *page;
  if (ctx_.stop) return nullptr;  // cancelled by a stop, not a failure
  Error e = page.error();
  e.message = "listing failed part-way: " + e.message;
  ctx_.Fail(std::move(e));
  return nullptr;
}

}  // namespace riptide::engine
