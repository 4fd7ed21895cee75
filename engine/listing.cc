#include "engine/listing.h"

#include <thread>

#include "transport/http/curl_transport.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"

namespace riptide::engine {

Result<s3::ListPage> PageFromResponse(Result<http::Response> r) {
  if (!r.ok()) return r.error();
  if (!s3::IsSuccess(r->status)) return s3::ErrorFromResponse(*r);
  return s3::ParseListObjectsV2(r->body);
}

bool NextKeyLine(std::istream& in, std::string* key) {
  while (std::getline(in, *key)) {
    if (!key->empty() && key->back() == '\r') key->pop_back();  // a file written on Windows
    if (!key->empty()) return true;
  }
  return false;
}

Result<s3::ListPage> ListOnePage(const ListTarget& target, const s3::ListParams& params) {
  for (int attempt = 1;; ++attempt) {
    auto page = PageFromResponse(http::Fetch(target.transport, target.requests.ListObjectsV2(target.bucket, params)));
    if (page.ok() || !target.retry.ShouldRetry(page.error(), attempt)) return page;
    if (target.stop && *target.stop) return page;
    if (target.retries) ++*target.retries;
    std::this_thread::sleep_for(target.retry.Backoff(attempt, page.error()));
  }
}

Status ForEachListPage(const ListTarget& target, s3::ListParams params,
                       const std::function<Status(const s3::ListPage&)>& fn) {
  for (;;) {
    auto page = ListOnePage(target, params);
    if (!page.ok()) return page.error();
    if (Status st = fn(*page); !st.ok()) return st;
    if (!page->is_truncated) return OkStatus();
    if (page->next_continuation_token.empty()) {
      return MakeError(ErrorCode::kProtocol, "the server said the listing goes on but gave no continuation token");
    }
    params.continuation_token = page->next_continuation_token;
  }
}

}  // namespace riptide::engine
