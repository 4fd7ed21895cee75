// --key / --keys-file: pages made of HEADs of the named keys, no listing.
#include <fstream>
#include <thread>

#include "engine/core/listing.h"
#include "engine/download/stages.h"
#include "transport/http/fetch.h"
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

Result<PagePtr> KeyListStage::HeadChunk() {
  std::vector<std::string> keys;
  std::string key;
  while (keys.size() < static_cast<size_t>(ctx_.options.list_page_size) && NextKey(&key)) keys.push_back(key);
  auto page = std::make_shared<s3::ListPage>();
  page->is_truncated = !keys.empty();  // the end shows as an empty, final page
  std::vector<std::optional<Error>> errors(keys.size());
  std::vector<size_t> todo(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) todo[i] = i;
  // Rounds: every HEAD left is in flight at once (the transport caps connections);
  // what failed and may be retried goes again after a backoff.
  const auto& retry = ctx_.options.retry;
  for (int attempt = 1; !todo.empty(); ++attempt) {
    std::vector<std::future<Result<http::Response>>> heads;
    for (size_t i : todo) heads.push_back(http::FetchAsync(ctx_.transport, ctx_.requests.HeadObject(ctx_.options.bucket, keys[i])));
    std::vector<size_t> again;
    std::optional<Error> last;
    for (size_t n = 0; n < todo.size(); ++n) {
      const size_t i = todo[n];
      auto r = heads[n].get();
      if (r.ok() && s3::IsSuccess(r->status)) {
        page->objects.push_back(s3::InfoFromHeaders(keys[i], r->headers));
        continue;
      }
      Error e = r.ok() ? s3::ErrorFromResponse(*r) : r.error();
      if (r.ok() && r->status >= 400 && r->status < 500 && r->body.empty()) {
        // A HEAD has no body to tell NoSuchKey from NoSuchBucket or a bad signature:
        // a one-byte GET does.
        auto probe =
            http::Fetch(ctx_.transport, ctx_.requests.GetObject(ctx_.options.bucket, keys[i], s3::ByteRange{0, 0}));
        if (probe.ok() && !s3::IsSuccess(probe->status)) e = s3::ErrorFromResponse(*probe);
      }
      if (StopsTheRun(e)) {
        e.message = "cannot read s3://" + ctx_.options.bucket + "/" + keys[i] + ": " + e.message;
        return e;
      }
      if (retry.ShouldRetry(e, attempt) && !ctx_.stop) {
        again.push_back(i);
        last = e;
      } else {
        errors[i] = std::move(e);
      }
    }
    todo = std::move(again);
    if (!todo.empty()) {
      ctx_.stats.retries += todo.size();
      std::this_thread::sleep_for(retry.Backoff(attempt, *last));
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!errors[i]) continue;
    if (errors[i]->code == ErrorCode::kNotFound) {
      ctx_.stats.AddFailure(keys[i], "NoSuchKey: no such key in s3://" + ctx_.options.bucket +
                                         " (a key list names whole keys: check that the prefix is part of it)");
    } else {
      ctx_.stats.AddFailure(keys[i], errors[i]->ToString());
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
