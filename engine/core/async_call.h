// One S3 call on the transport with its whole answer kept in memory, retried by itself
// with backoff: the building block of copies, whose steps chain through callbacks.
#pragma once

#include <atomic>
#include <chrono>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "engine/core/retry.h"
#include "engine/core/stats.h"
#include "transport/http/transport.h"
#include "transport/s3/errors.h"

namespace riptide::engine {

/// How a call retries: the policy, a run's stop flag, and a counter of retries made
/// (both may be null).
struct RetryScope {
  const RetryPolicy& policy;
  const std::atomic<bool>* stop = nullptr;
  Stats* stats = nullptr;  // counts retries (and, of them, throttles) when set
};


/// Whole answers kept in memory for listings and other XML results: a hostile server
/// cannot exhaust memory.
inline constexpr uint64_t kMaxXmlBodyBytes = 64u << 20;

// One S3 call whose answer is kept in memory (up to `body_limit` bytes), retried by itself
// with backoff; `done` runs on the transport's thread, so it must stay light.
class AsyncCall final : public http::ResponseHandler, public std::enable_shared_from_this<AsyncCall> {
 public:
  using Make = std::function<http::Request()>;
  using Check = std::function<Status(const http::Response&)>;
  using Done = std::function<void(Result<http::Response>)>;

  /// Starts the call. `check` (may be null) judges a 2xx answer; `done` gets the answer,
  /// or the error once retries are spent or `retry.stop` is set.
  static void Run(http::Transport& transport, const RetryScope& retry, Make make, Check check, Done done,
                  uint64_t body_limit = 1u << 20) {
    std::shared_ptr<AsyncCall> call(
        new AsyncCall(transport, retry, std::move(make), std::move(check), std::move(done), body_limit));
    call->Submit(std::chrono::milliseconds(0));
  }

  void OnHeaders(int status, const http::HeaderMap& headers) override {
    response_.status = status;
    response_.headers = headers;
    // Large bodies (a streamed part) are reserved once, as announced, never above the limit.
    if (auto it = headers.find("content-length"); s3::IsSuccess(status) && it != headers.end()) {
      const uint64_t announced = std::strtoull(it->second.c_str(), nullptr, 10);
      if (announced > (1u << 20)) response_.body.reserve(std::min(announced, body_limit_));
    }
  }

  bool OnBody(std::string_view chunk) override {
    if (!s3::IsSuccess(response_.status)) {
      if (response_.body.size() < 65536) response_.body.append(chunk.substr(0, 65536 - response_.body.size()));
      return true;
    }
    if (response_.body.size() + chunk.size() > body_limit_) {
      too_long_ = true;
      return false;
    }
    response_.body.append(chunk);
    return true;
  }

  void OnComplete() override {
    if (!s3::IsSuccess(response_.status)) return Finish(s3::ErrorFromResponse(response_));
    if (check_) {
      if (Status st = check_(response_); !st.ok()) return Finish(st.error());
    }
    Finish(std::move(response_));
  }

  void OnFailure(Error e) override {
    // Past an object's known size the body may be a garbled transfer (tried again); past
    // the cap of in-memory answers it is a hostile one (not).
    if (too_long_) {
      const std::string limit = body_limit_ % (1u << 20) == 0 ? std::to_string(body_limit_ >> 20) + " MiB"
                                                              : std::to_string(body_limit_) + " bytes";
      e = MakeError(ErrorCode::kProtocol, "response body larger than " + limit, body_limit_ < kMaxXmlBodyBytes);
    }
    Finish(std::move(e));
  }

 private:
  AsyncCall(http::Transport& transport, const RetryScope& retry, Make make, Check check, Done done,
            uint64_t body_limit)
      : retry_(retry), transport_(transport), make_(std::move(make)), check_(std::move(check)), done_(std::move(done)),
        body_limit_(body_limit) {}

  void Submit(std::chrono::milliseconds delay) {
    ++attempts_;
    response_ = http::Response{};
    too_long_ = false;
    transport_.Submit(make_(), shared_from_this(), delay);
  }

  void Finish(Result<http::Response> r) {
    const bool stopping = retry_.stop && *retry_.stop;
    if (auto delay = r.ok() ? std::nullopt : retry_.policy.NextTry(r.error(), attempts_, stopping)) {
      if (retry_.stats) retry_.stats->CountRetry(r.error());
      Submit(*delay);
      return;
    }
    Done done = std::move(done_);
    done(std::move(r));
  }

  RetryScope retry_;
  http::Transport& transport_;
  Make make_;
  Check check_;
  Done done_;
  uint64_t body_limit_;
  int attempts_ = 0;
  http::Response response_;
  bool too_long_ = false;
};

/// AsyncCall, waited for: for callers off the transport's thread and outside the flow
/// graph (the first page of a listing, deletes and aborts at a run's end, the commands
/// that only read). The waiting thread sleeps on a future; retries wait on the
/// transport's timer.
inline Result<http::Response> CallAndWait(http::Transport& transport, const RetryScope& retry, AsyncCall::Make make,
                                          AsyncCall::Check check, uint64_t body_limit = kMaxXmlBodyBytes) {
  auto promise = std::make_shared<std::promise<Result<http::Response>>>();
  auto future = promise->get_future();
  AsyncCall::Run(transport, retry, std::move(make), std::move(check),
                 [promise](Result<http::Response> r) { promise->set_value(std::move(r)); }, body_limit);
  return future.get();
}

}  // namespace riptide::engine
