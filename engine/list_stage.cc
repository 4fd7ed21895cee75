#include <thread>

#include "engine/stages.h"
#include "transport/http/curl_transport.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"

namespace riptide::engine {
namespace {

Result<s3::ListPage> PageFromResponse(Result<http::Response> r) {
  if (!r.ok()) return r.error();
  if (!s3::IsSuccess(r->status)) return s3::ErrorFromResponse(*r);
  return s3::ParseListObjectsV2(r->body);
}

http::Request ListRequest(RunContext& ctx, const std::string& token) {
  s3::ListParams p;
  p.prefix = ctx.prefix;
  p.continuation_token = token;
  p.max_keys = ctx.options.list_page_size;
  return ctx.requests.ListObjectsV2(ctx.options.bucket, p);
}

}  // namespace

Result<s3::ListPage> ListPageWithRetry(RunContext& ctx, const std::string& continuation) {
  for (int attempt = 1;; ++attempt) {
    auto page = PageFromResponse(http::Fetch(ctx.transport, ListRequest(ctx, continuation)));
    if (page.ok() || !ctx.options.retry.ShouldRetry(page.error(), attempt) || ctx.stop) return page;
    ctx.stats.retries++;
    std::this_thread::sleep_for(ctx.options.retry.Backoff(attempt, page.error()));
  }
}

ListStage::ListStage(RunContext& ctx, s3::ListPage first_page)
    : ctx_(ctx), pending_(std::make_shared<s3::ListPage>(std::move(first_page))) {
  if (pending_->is_truncated) Prefetch(pending_->next_continuation_token);
}

void ListStage::Prefetch(const std::string& token) {
  next_token_ = token;
  next_ = http::FetchAsync(ctx_.transport, ListRequest(ctx_, token));
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
  if (out->is_truncated) {
    Prefetch(out->next_continuation_token);
  } else {
    done_ = true;
  }
  return out;
}

}  // namespace riptide::engine
