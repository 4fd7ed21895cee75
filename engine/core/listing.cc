#include "engine/core/listing.h"

#include <thread>

#include "transport/http/fetch.h"
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
  return Retrying<s3::ListPage>(target, [&] {
    return PageFromResponse(http::Fetch(target.transport, target.requests.ListObjectsV2(target.bucket, params)));
  });
}

Status ForEachUploadsPage(const ListTarget& target, const std::string& prefix,
                          const std::function<Status(const s3::UploadsPage&)>& fn) {
  std::string key_marker, id_marker;
  for (;;) {
    auto page = Retrying<s3::UploadsPage>(target, [&]() -> Result<s3::UploadsPage> {
      auto r = http::Fetch(target.transport,
                           target.requests.ListMultipartUploads(target.bucket, prefix, key_marker, id_marker));
      if (!r.ok()) return r.error();
      if (!s3::IsSuccess(r->status)) return s3::ErrorFromResponse(*r);
      return s3::ParseListMultipartUploads(r->body);
    });
    if (!page.ok()) return page.error();
    if (Status st = fn(*page); !st.ok()) return st;
    if (!page->is_truncated) return OkStatus();
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
  }
}

Status AbortUpload(const ListTarget& target, const s3::UploadInfo& upload) {
  return Retrying<Ok>(target, [&]() -> Status {
    auto r = http::Fetch(target.transport,
                         target.requests.AbortMultipartUpload(target.bucket, upload.key, upload.upload_id));
    if (!r.ok()) return r.error();
    if (s3::IsSuccess(r->status)) return OkStatus();
    Error e = s3::ErrorFromResponse(*r);
    if (e.s3_code == "NoSuchUpload") return OkStatus();  // completed or aborted meanwhile
    return e;
  });
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

Status PageReader::Start() {
  auto first = ListOnePage(target_, params_);
  if (!first.ok()) return first.error();
  pending_ = std::make_shared<s3::ListPage>(std::move(*first));
  PrefetchAfter(*pending_);
  return OkStatus();
}

void PageReader::PrefetchAfter(const s3::ListPage& page) {
  if (!page.is_truncated) {
    done_ = true;
    return;
  }
  params_.continuation_token = page.next_continuation_token;
  next_ = http::FetchAsync(target_.transport, target_.requests.ListObjectsV2(target_.bucket, params_));
}

Result<std::shared_ptr<s3::ListPage>> PageReader::Next() {
  if (pending_) return std::move(pending_);
  if (done_ || !next_ || (target_.stop && *target_.stop)) return std::shared_ptr<s3::ListPage>();
  auto page = PageFromResponse(next_->get());
  next_.reset();
  if (!page.ok()) {
    if (page.error().retryable && target_.retries) ++*target_.retries;
    page = ListOnePage(target_, params_);
  }
  if (!page.ok()) {
    done_ = true;
    return page.error();
  }
  auto out = std::make_shared<s3::ListPage>(std::move(*page));
  PrefetchAfter(*out);
  return out;
}

}  // namespace riptide::engine
