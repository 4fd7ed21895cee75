#include "engine/listing.h"
#include "engine/stages.h"
#include "transport/http/curl_transport.h"

namespace riptide::engine {
namespace {

s3::ListParams Params(const RunContext& ctx, const std::string& token) {
  s3::ListParams p;
  p.prefix = ctx.prefix;
  p.continuation_token = token;
  p.max_keys = ctx.options.list_page_size;
  return p;
}

ListTarget Target(RunContext& ctx) {
  return ListTarget{ctx.transport, ctx.requests, ctx.options.bucket, ctx.options.retry, &ctx.stop,
                    &ctx.stats.retries};
}

// One listing page, retrying what can be retried.
Result<s3::ListPage> ListPageWithRetry(RunContext& ctx, const std::string& continuation) {
  return ListOnePage(Target(ctx), Params(ctx, continuation));
}

}  // namespace

Status ListStage::Start() {
  auto first = ListPageWithRetry(ctx_, "");
  if (!first.ok()) {
    Error e = first.error();
    e.message = "cannot list s3://" + ctx_.options.bucket + "/" + ctx_.prefix + ": " + e.message;
    return e;
  }
  pending_ = std::make_shared<s3::ListPage>(std::move(*first));
  PrefetchAfter(*pending_);
  return OkStatus();
}

void ListStage::PrefetchAfter(const s3::ListPage& page) {
  if (!page.is_truncated) {
    done_ = true;
    return;
  }
  next_token_ = page.next_continuation_token;
  next_ = http::FetchAsync(ctx_.transport, ctx_.requests.ListObjectsV2(ctx_.options.bucket, Params(ctx_, next_token_)));
}

PagePtr ListStage::Next() {
  if (pending_) return std::move(pending_);
  if (done_ || !next_ || ctx_.stop) return nullptr;
  auto page = PageFromResponse(next_->get());
  next_.reset();
  if (!page.ok()) {
    // The prefetch failed: retry it in the foreground.
    if (page.error().retryable) ctx_.stats.retries++;
    page = ListPageWithRetry(ctx_, next_token_);
  }
  if (!page.ok()) {
    done_ = true;
    if (ctx_.stop) return nullptr;  // cancelled by a stop, not a failure
    Error e = page.error();
    e.message = "listing failed part-way: " + e.message;
    ctx_.Fail(std::move(e));
    return nullptr;
  }
  auto out = std::make_shared<s3::ListPage>(std::move(*page));
  PrefetchAfter(*out);
  return out;
}

}  // namespace riptide::engine
