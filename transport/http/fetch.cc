#include "transport/http/fetch.h"

namespace riptide::http {
namespace {

class CollectingHandler final : public ResponseHandler {
 public:
  void OnHeaders(int status, const HeaderMap& headers) override {
    response_.status = status;
    response_.headers = headers;
  }
  bool OnBody(std::string_view chunk) override {
    response_.body.append(chunk);
    return response_.body.size() <= kMaxBodyBytes;
  }
  void OnComplete() override { promise_.set_value(std::move(response_)); }
  void OnFailure(Error error) override {
    if (response_.body.size() > kMaxBodyBytes) {
      error = MakeError(ErrorCode::kProtocol, "response body larger than 64 MiB");
    }
    promise_.set_value(std::move(error));
  }
  std::future<Result<Response>> Future() { return promise_.get_future(); }

 private:
  static constexpr size_t kMaxBodyBytes = 64u << 20;  // a hostile server cannot exhaust memory
  Response response_;
  std::promise<Result<Response>> promise_;
};

}  // namespace

std::future<Result<Response>> FetchAsync(Transport& transport, Request request) {
  auto handler = std::make_shared<CollectingHandler>();
  auto future = handler->Future();
  transport.Submit(std::move(request), handler);
  return future;
}

Result<Response> Fetch(Transport& transport, Request request) {
  return FetchAsync(transport, std::move(request)).get();
}

}  // namespace riptide::http
