// --key / --keys-file: pages made of HEADs of the named keys, no listing.
#include <fstream>

#include "engine/core/listing.h"
#include "engine/download/stages.h"
#include "engine/core/async_call.h"
#include "transport/s3/errors.h"
#include "transport/s3/responses.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

// Errors that say the whole run cannot work, not that one key is missing.
bool StopsTheRun(const Error& e) {
  return e.code == ErrorCode::kCredentials || e.code == ErrorCode::kInvalidArgument || e.s3_code == "NoSuchBucket";
}

}  // namespace

KeyListStage::KeyListStage(RunContext& ctx) : ctx_(ctx) {
  if (!ctx.options.keys_file.empty()) {
    file_ = std::make_unique<std::ifstream>(ctx.options.keys_file);
  }
}

KeyListStage::~KeyListStage() = default;

Status KeyListStage::Start() {
  if (file_ && !*file_) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot read --keys-file " + ctx_.options.keys_file);
  }
  auto first = HeadChunk();
  if (!first.ok()) return first.error();
  pending_ = std::move(*first);
  done_ = !pending_->is_truncated;
  return OkStatus();
}

bool KeyListStage::NextKey(std::string* key) {
  const auto& keys = ctx_.options.keys;
  while (next_index_ < keys.size()) {
    *key = keys[next_index_++];
    if (!key->empty()) return true;
  }
  return file_ && NextKeyLine(*file_, key);
}

namespace {

// HEAD of one key, retried by the run's policy on the transport's timer. A 4xx HEAD has
// no body to tell NoSuchKey from NoSuchBucket or a bad signature: a one-byte GET does.
std::future<Result<s3::ObjectInfo>> HeadKey(RunContext& ctx, const std::string& key) {
  auto promise = std::make_shared<std::promise<Result<s3::ObjectInfo>>>();
  auto future = promise->get_future();
  const RetryScope scope{ctx.options.retry, &ctx.stop, &ctx.stats};
  AsyncCall::Run(
      ctx.transport, scope, [&ctx, key] { return ctx.requests.HeadObject(ctx.options.bucket, key); }, nullptr,
      [&ctx, key, promise, scope](Result<http::Response> r) {
        if (r.ok()) return promise->set_value(s3::InfoFromHeaders(key, r->headers));
        const Error e = r.error();
        if (e.http_status < 400 || e.http_status >= 500 || !e.s3_code.empty()) return promise->set_value(e);
        AsyncCall::Run(
            ctx.transport, scope,
            [&ctx, key] { return ctx.requests.GetObject(ctx.options.bucket, key, s3::ByteRange{0, 0}); }, nullptr,
            [promise, e](Result<http::Response> probe) { promise->set_value(probe.ok() ? e : probe.error()); });
      });
  return future;
}

}  // namespace

Result<PagePtr> KeyListStage::HeadChunk() {
  std::vector<std::string> keys;
  std::string key;
  while (keys.size() < static_cast<size_t>(ctx_.options.list_page_size) && NextKey(&key)) keys.push_back(key);
  auto page = std::make_shared<s3::ListPage>();
  page->is_truncated = !keys.empty();  // the end shows as an empty, final page
  // Every HEAD of the chunk is in flight at once (the transport caps connections); all
  // are waited for before any answer is judged, so none outlives the run.
  std::vector<std::future<Result<s3::ObjectInfo>>> heads;
  for (const auto& k : keys) heads.push_back(HeadKey(ctx_, k));
  std::vector<Result<s3::ObjectInfo>> answers;
  for (auto& f : heads) answers.push_back(f.get());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (answers[i].ok()) {
      page->objects.push_back(std::move(*answers[i]));
      continue;
    }
    Error e = answers[i].error();
    if (StopsTheRun(e)) {
      e.message = "cannot read s3://" + ctx_.options.bucket + "/" + keys[i] + ": " + e.message;
      return e;
    }
    if (e.code == ErrorCode::kNotFound) {
      ctx_.stats.AddFailure(keys[i], "NoSuchKey: no such key in s3://" + ctx_.options.bucket +
                                         " (a key list names whole keys: check that the prefix is part of it)");
    } else {
      ctx_.stats.AddFailure(keys[i], e.ToString());
    }
  }
  return page;
}

PagePtr KeyListStage::Next() {
  if (pending_) return std::move(pending_);
  if (done_ || ctx_.stop) return nullptr;
  auto page = HeadChunk();
  if (!page.ok()) {
    done_ = true;
    ctx_.Fail(page.error());
    return nullptr;
  }
  if (!(*page)->is_truncated) done_ = true;
  return std::move(*page);
}

}  // namespace riptide::engine
