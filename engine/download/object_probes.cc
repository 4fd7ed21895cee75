// What the fetch stage asks about an object besides its bytes, on the transport (never
// blocking a graph thread): what a replaced object is now, and each part's size of an
// upload whose parts were uneven.
#include <algorithm>
#include <mutex>

#include "engine/core/async_call.h"
#include "engine/download/stages.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

RetryScope Scope(RunContext& ctx) { return RetryScope{ctx.options.retry, &ctx.stop, &ctx.stats}; }

}  // namespace

void RefreshObject(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> next) {
  const std::string key = t->object.key;
  AsyncCall::Run(
      ctx.transport, Scope(ctx), [&ctx, key] { return ctx.requests.HeadObject(ctx.options.bucket, key); }, nullptr,
      [t = std::move(t), next = std::move(next)](Result<http::Response> r) mutable {
        t->refresh = false;
        if (!r.ok()) {
          t->error = r.error();
          return next(std::move(t));
        }
        const s3::ObjectInfo now = s3::InfoFromHeaders(t->object.key, r->headers);
        t->object.size = now.size;
        t->object.etag = now.etag;
        // Another object now: the old one's checksum proves nothing about it.
        t->checksum_algorithm.clear();
        t->checksum_value.clear();
        if (now.last_modified_ms > 0) t->object.last_modified_ms = now.last_modified_ms;
        t->part_sizes = Transfer::PartSizes::kUnasked;
        t->exact_part_lengths.clear();
        next(std::move(t));
      });
}

void AskPartSizes(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> done) {
  struct Answers {
    std::mutex mu;
    std::vector<uint64_t> lengths;  // guarded by mu
    int left = 0;                   // guarded by mu
    bool failed = false;            // guarded by mu
  };
  const int parts = s3::MultipartEtagParts(t->object.etag);
  t->part_sizes = Transfer::PartSizes::kAsked;
  if (parts <= 0) return done(std::move(t));
  auto answers = std::make_shared<Answers>();
  answers->lengths.assign(static_cast<size_t>(parts), 0);
  answers->left = parts;
  auto finish = std::make_shared<std::function<void()>>([t, done = std::move(done), answers]() mutable {
    if (!answers->failed) t->exact_part_lengths = answers->lengths;
    done(std::move(t));
  });
  const std::string key = t->object.key;
  for (int i = 1; i <= parts; ++i) {
    AsyncCall::Run(
        ctx.transport, Scope(ctx), [&ctx, key, i] { return ctx.requests.HeadObject(ctx.options.bucket, key, i); },
        nullptr, [answers, finish, i](Result<http::Response> r) {
          bool last;
          {
            std::lock_guard<std::mutex> lock(answers->mu);
            if (r.ok()) {
              answers->lengths[static_cast<size_t>(i - 1)] = s3::InfoFromHeaders("", r->headers).size;
            } else {
              answers->failed = true;
            }
            last = --answers->left == 0;
          }
          if (last) (*finish)();
        });
  }
}

}  // namespace riptide::engine
