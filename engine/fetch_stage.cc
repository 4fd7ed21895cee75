#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "engine/stages.h"
#include "transport/s3/errors.h"

namespace riptide::engine {
namespace {

std::string Unquote(const std::string& s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// Streams one GET into the transfer's temp file with pwrite, straight from curl's
// buffer. Retries itself through the transport after a backoff.
class GetHandler final : public http::ResponseHandler,
                         public std::enable_shared_from_this<GetHandler> {
 public:
  GetHandler(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> done)
      : ctx_(ctx), t_(std::move(t)), done_(std::move(done)) {}

  void Start(std::chrono::milliseconds delay) {
    status_ = 0;
    error_body_.clear();
    io_errno_ = 0;
    expected_ = -1;
    t_->bytes_received = 0;
    t_->attempts++;
    ctx_.transport.Submit(ctx_.requests.GetObject(ctx_.options.bucket, t_->object.key), shared_from_this(),
                          delay);
  }

  void OnHeaders(int status, const http::HeaderMap& headers) override {
    status_ = status;
    headers_ = headers;
    if (!s3::IsSuccess(status)) return;
    // The GET's own headers describe the bytes we get: verify against them.
    if (auto it = headers.find("content-length"); it != headers.end()) {
      expected_ = std::strtoll(it->second.c_str(), nullptr, 10);
    }
    if (auto it = headers.find("etag"); it != headers.end()) t_->object.etag = Unquote(it->second);
    if (auto it = headers.find("last-modified"); it != headers.end()) {
      int64_t ms = s3::ParseHttpDateMs(it->second);
      if (ms >= 0) t_->object.last_modified_ms = ms;
    }
  }

  bool OnBody(std::string_view chunk) override {
    if (!s3::IsSuccess(status_)) {
      if (error_body_.size() < 65536) error_body_.append(chunk.substr(0, 65536 - error_body_.size()));
      return true;
    }
    const char* p = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      ssize_t n = ::pwrite(t_->temp.file.get(), p, left, static_cast<off_t>(t_->bytes_received));
      if (n < 0) {
        if (errno == EINTR) continue;
        io_errno_ = errno;
        return false;
      }
      p += n;
      left -= static_cast<size_t>(n);
      t_->bytes_received += static_cast<uint64_t>(n);
    }
    ctx_.stats.bytes_received.fetch_add(chunk.size(), std::memory_order_relaxed);
    return true;
  }

  void OnComplete() override {
    if (!s3::IsSuccess(status_)) return Retry(s3::ErrorFromParts(status_, headers_, error_body_));
    if (expected_ >= 0 && static_cast<int64_t>(t_->bytes_received) != expected_) {
      return Retry(MakeError(ErrorCode::kNetwork,
                             "body ended after " + std::to_string(t_->bytes_received) + " of " +
                                 std::to_string(expected_) + " bytes",
                             true));
    }
    t_->object.size = t_->bytes_received;
    Finish();
  }

  void OnFailure(Error error) override {
    if (io_errno_ != 0) {
      t_->error = IoError("cannot write", ctx_.dataset.root() + "/" + t_->path, io_errno_);
      return Finish();
    }
    Retry(std::move(error));
  }

 private:
  void Retry(Error e) {
    if (!ctx_.stop && ctx_.options.retry.ShouldRetry(e, t_->attempts)) {
      ctx_.stats.retries++;
      return Start(ctx_.options.retry.Backoff(t_->attempts, e));
    }
    t_->error = std::move(e);
    Finish();
  }
  void Finish() {
    ctx_.stats.ns_network += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started_).count());
    auto done = std::move(done_);
    done(std::move(t_));
  }

  RunContext& ctx_;
  TransferPtr t_;
  std::function<void(TransferPtr)> done_;
  int status_ = 0;
  http::HeaderMap headers_;
  std::string error_body_;
  int io_errno_ = 0;
  int64_t expected_ = -1;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace

void StartFetch(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> done) {
  if (t->folder || t->error) return done(std::move(t));
  auto handler = std::make_shared<GetHandler>(ctx, std::move(t), std::move(done));
  handler->Start(std::chrono::milliseconds(0));
}

}  // namespace riptide::engine
