#include "engine/core/head_keys.h"

#include <future>
#include <memory>

#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

std::future<Result<s3::ObjectInfo>> HeadKey(http::Transport& transport, const s3::RequestFactory& requests,
                                            const std::string& bucket, const std::string& key,
                                            const RetryScope& scope) {
  auto promise = std::make_shared<std::promise<Result<s3::ObjectInfo>>>();
  auto future = promise->get_future();
  AsyncCall::Run(
      transport, scope, [&requests, &bucket, key] { return requests.HeadObject(bucket, key); }, nullptr,
      [&transport, &requests, &bucket, key, promise, scope](Result<http::Response> r) {
        if (r.ok()) return promise->set_value(s3::InfoFromHeaders(key, r->headers));
        const Error e = r.error();
        if (e.http_status < 400 || e.http_status >= 500 || !e.s3_code.empty()) return promise->set_value(e);
        AsyncCall::Run(
            transport, scope, [&requests, &bucket, key] { return requests.GetObject(bucket, key, s3::ByteRange{0, 0}); },
            nullptr, [promise, e](Result<http::Response> probe) { promise->set_value(probe.ok() ? e : probe.error()); });
      });
  return future;
}

}  // namespace

std::vector<Result<s3::ObjectInfo>> HeadKeys(http::Transport& transport, const s3::RequestFactory& requests,
                                             const std::string& bucket, const std::vector<std::string>& keys,
                                             const RetryScope& scope) {
  std::vector<std::future<Result<s3::ObjectInfo>>> heads;
  heads.reserve(keys.size());
  for (const auto& k : keys) heads.push_back(HeadKey(transport, requests, bucket, k, scope));
  std::vector<Result<s3::ObjectInfo>> answers;
  answers.reserve(keys.size());
  for (auto& f : heads) answers.push_back(f.get());
  return answers;
}

Result<std::vector<s3::ObjectInfo>> HeadKeyChunk(http::Transport& transport, const s3::RequestFactory& requests,
                                                 const std::string& bucket, const std::vector<std::string>& keys,
                                                 const RetryScope& scope, Stats* stats,
                                                 const std::string& missing_hint) {
  auto answers = HeadKeys(transport, requests, bucket, keys, scope);
  std::vector<s3::ObjectInfo> found;
  found.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (answers[i].ok()) {
      found.push_back(std::move(*answers[i]));
      continue;
    }
    Error e = answers[i].error();
    // Errors that say no key of the list can work, not that this one is missing.
    if (e.code == ErrorCode::kCredentials || e.code == ErrorCode::kInvalidArgument || e.s3_code == "NoSuchBucket") {
      e.message = "cannot read s3://" + bucket + "/" + keys[i] + ": " + e.message;
      return e;
    }
    if (!stats) continue;
    if (e.code == ErrorCode::kNotFound) {
      stats->AddFailure(keys[i], "NoSuchKey: no such key in s3://" + bucket + missing_hint, {}, true);
    } else {
      stats->AddFailure(keys[i], e.ToString());
    }
  }
  return found;
}

}  // namespace riptide::engine
