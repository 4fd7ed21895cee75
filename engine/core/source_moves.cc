#include "engine/core/source_moves.h"

#include <algorithm>
#include <future>
#include <memory>

#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

constexpr const char* kReplaced = "kept: the source object was replaced after it was copied";

void Delete(http::Transport& transport, const s3::RequestFactory& requests, const std::string& bucket,
            const MovedObject& object, const RetryScope& scope, std::shared_ptr<std::promise<MoveOutcome>> promise) {
  AsyncCall::Run(
      transport, scope, [&requests, &bucket, &object] { return requests.DeleteObject(bucket, object.key, object.etag); },
      nullptr, [key = object.key, promise](Result<http::Response> r) {
        if (r.ok() || r.error().http_status == 404) return promise->set_value({key, true, {}});
        if (r.error().http_status == 412) return promise->set_value({key, false, kReplaced});
        promise->set_value({key, false, "kept: the delete failed: " + r.error().ToString()});
      });
}

std::future<MoveOutcome> MoveOne(http::Transport& transport, const s3::RequestFactory& requests,
                                 const std::string& bucket, const MovedObject& object, const RetryScope& scope) {
  auto promise = std::make_shared<std::promise<MoveOutcome>>();
  auto future = promise->get_future();
  if (object.etag.empty()) {
    promise->set_value({object.key, false, "kept: the copied object's ETag is unknown"});
    return future;
  }
  AsyncCall::Run(
      transport, scope, [&requests, &bucket, &object] { return requests.HeadObject(bucket, object.key); }, nullptr,
      [&transport, &requests, &bucket, &object, scope, promise](Result<http::Response> r) {
        if (!r.ok()) {
          if (r.error().http_status == 404) return promise->set_value({object.key, true, {}});
          return promise->set_value({object.key, false, "kept: " + r.error().ToString()});
        }
        if (s3::InfoFromHeaders(object.key, r->headers).etag != object.etag) {
          return promise->set_value({object.key, false, kReplaced});
        }
        Delete(transport, requests, bucket, object, scope, promise);
      });
  return future;
}

}  // namespace

std::vector<MoveOutcome> DeleteMovedSources(http::Transport& transport, const s3::RequestFactory& requests,
                                            const std::string& bucket, const std::vector<MovedObject>& objects,
                                            const RetryScope& scope, int concurrency) {
  std::vector<MoveOutcome> outcomes;
  outcomes.reserve(objects.size());
  const size_t window = static_cast<size_t>(std::max(1, concurrency));
  for (size_t begin = 0; begin < objects.size(); begin += window) {
    const size_t end = std::min(objects.size(), begin + window);
    std::vector<std::future<MoveOutcome>> pending;
    for (size_t i = begin; i < end; ++i) pending.push_back(MoveOne(transport, requests, bucket, objects[i], scope));
    for (auto& f : pending) outcomes.push_back(f.get());
  }
  return outcomes;
}

}  // namespace riptide::engine
