#include "engine/listing.h"

#include <thread>

#include "transport/http/curl_transport.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"

namespace riptide::engine {

Result<s3::ListPage> PageFromResponse(Result<http::Response> r) {
  if (!r.ok()) return r.error();
  if (!s3::IsSuccess(r->status)) return s3::ErrorFromResponse(*r);
  auto page = s3::ParseListObjectsV2(r->body);
  if (page.ok()) return page;
  // S3 may answer 200 with an <Error> body (InternalError: retried by the table); a page
  // cut short or garbled in transit is worth another try too.
  if (!s3::ParseErrorBody(r->body).code.empty()) return s3::ErrorFromResponse(*r);
  Error e = page.error();
  e.message = "unreadable listing page: " + e.message;
  e.retryable = true;
  return e;
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
    params.continuation_token = page->next_continuation_token;
  }
}

}  // namespace riptide::engine
