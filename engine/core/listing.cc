#include "engine/core/listing.h"

#include <algorithm>
#include <string_view>
#include <thread>

#include "engine/core/range_listing.h"
#include "transport/s3/errors.h"
#include "transport/strings.h"
#include "transport/s3/xml.h"

namespace riptide::engine {

Result<s3::ListPage> PageFromBody(const http::Response& r) {
  auto page = s3::ParseListObjectsV2(r.body);
  if (page.ok()) return page;
  // S3 may answer 200 with an <Error> body (InternalError: retried by the table); a page
  // cut short or garbled in transit is worth another try too.
  if (!s3::ParseErrorBody(r.body).code.empty()) return s3::ErrorFromResponse(r);
  Error e = page.error();
  e.message = "unreadable listing page: " + e.message;
  e.retryable = true;
  return e;
}

namespace {

// A check that parses each answer into `out`: a garbled page fails the attempt (and is
// retried), the last good one is kept.
AsyncCall::Check ParsePageInto(std::shared_ptr<s3::ListPage> out) {
  return [out](const http::Response& r) -> Status {
    auto page = PageFromBody(r);
    if (!page.ok()) return page.error();
    *out = std::move(*page);
    return OkStatus();
  };
}

AsyncCall::Make ListRequest(const ListTarget& target, const s3::ListParams& params) {
  return [&requests = target.requests, bucket = target.bucket, params] { return requests.ListObjectsV2(bucket, params); };
}

}  // namespace

Status ListingProgress::Advance(bool truncated, const std::string& token) {
  ++pages_;
  if (!truncated) return OkStatus();
  if (token.empty()) {
    return MakeError(ErrorCode::kProtocol, "the server said its listing goes on but gave no continuation "
                                           "token: the listing cannot continue (after " + std::to_string(pages_) +
                                           " pages)");
  }
  if (!seen_.insert(std::hash<std::string>()(token)).second) {
    return MakeError(ErrorCode::kProtocol, "the server repeated a continuation token after " +
                                               std::to_string(pages_) + " pages: its listing would never end");
  }
  return OkStatus();
}

std::vector<std::string> NearestNames(const ListTarget& target, const std::string& prefix) {
  std::string typed = prefix;
  if (!typed.empty() && typed.back() == '/') typed.pop_back();
  const size_t cut = typed.rfind('/');
  const std::string parent = cut == std::string::npos ? "" : typed.substr(0, cut + 1);
  const std::string segment = typed.substr(parent.size());
  if (segment.empty()) return {};
  s3::ListParams params;
  params.prefix = parent;
  params.delimiter = "/";
  auto page = ListOnePage(target, params);
  if (!page.ok()) return {};
  std::vector<std::pair<size_t, std::string>> scored;
  auto consider = [&](const std::string& full) {
    const std::string name = full.substr(parent.size());
    std::string bare = name;
    if (!bare.empty() && bare.back() == '/') bare.pop_back();
    // Names it starts (a prefix cut short) rank first, then near misses (a typo).
    const size_t distance = bare.rfind(segment, 0) == 0 ? 0 : EditDistance(segment, bare);
    if (distance <= std::max<size_t>(1, segment.size() / 2)) scored.emplace_back(distance, parent + name);
  };
  for (const auto& p : page->common_prefixes) consider(p);
  for (const auto& o : page->objects) consider(o.key);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> names;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) names.push_back(scored[i].second);
  return names;
}

bool NextKeyLine(std::istream& in, std::string* key) {
  while (std::getline(in, *key)) {
    if (!key->empty() && key->back() == '\r') key->pop_back();  // a file written on Windows
    if (!key->empty()) return true;
  }
  return false;
}

Result<s3::ListPage> ListOnePage(const ListTarget& target, const s3::ListParams& params) {
  auto page = std::make_shared<s3::ListPage>();
  auto r = target.Call(ListRequest(target, params), ParsePageInto(page));
  if (!r.ok()) return r.error();
  return std::move(*page);
}

Status ForEachUploadsPage(const ListTarget& target, const std::string& prefix,
                          const std::function<Status(const s3::UploadsPage&)>& fn) {
  std::string key_marker, id_marker;
  ListingProgress progress;
  for (;;) {
    auto page = std::make_shared<s3::UploadsPage>();
    auto r = target.Call(
        [&] { return target.requests.ListMultipartUploads(target.bucket, prefix, key_marker, id_marker); },
        [page](const http::Response& r) -> Status {
          auto parsed = s3::ParseListMultipartUploads(r.body);
          if (!parsed.ok()) return parsed.error();
          *page = std::move(*parsed);
          return OkStatus();
        });
    if (!r.ok()) return r.error();
    if (Status st = fn(*page); !st.ok()) return st;
    if (Status st = progress.Advance(page->is_truncated, page->next_key_marker + '\n' + page->next_upload_id_marker);
        !st.ok()) {
      return st;
    }
    if (!page->is_truncated) return OkStatus();
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
  }
}

Status AbortUpload(const ListTarget& target, const s3::UploadInfo& upload) {
  auto r = target.Call([&] { return target.requests.AbortMultipartUpload(target.bucket, upload.key, upload.upload_id); });
  if (!r.ok() && r.error().s3_code != "NoSuchUpload") return r.error();  // gone meanwhile counts as aborted
  return OkStatus();
}

Status ForEachListPage(const ListTarget& target, s3::ListParams params,
                       const std::function<Status(const s3::ListPage&)>& fn, int concurrency) {
  PageReader reader(target, std::move(params), concurrency);
  if (Status st = reader.Start(); !st.ok()) return st;
  for (;;) {
    auto page = reader.Next();
    if (!page.ok()) return page.error();
    if (!*page) return OkStatus();
    if (Status st = fn(**page); !st.ok()) return st;
  }
}

PageReader::PageReader(ListTarget target, s3::ListParams params, int concurrency,
                       std::string last_key)
    : target_(std::move(target)), params_(std::move(params)), last_key_(std::move(last_key)) {
  if (concurrency > 1 && params_.delimiter.empty()) {
    ranges_ = std::make_unique<RangeLister>(target_, params_, concurrency, last_key_);
  }
}

bool PageReader::CutAtLastKey(s3::ListPage& page) {
  if (last_key_.empty()) return false;
  auto beyond = std::find_if(page.objects.begin(), page.objects.end(),
                             [&](const s3::ObjectInfo& o) { return o.key > last_key_; });
  if (beyond == page.objects.end()) return false;
  page.objects.erase(beyond, page.objects.end());
  page.is_truncated = false;
  done_ = true;
  return true;
}

PageReader::~PageReader() {
  if (next_ && next_->valid()) next_->wait();
}

Status PageReader::Start() {
  if (ranges_) return ranges_->Start();
  auto first = ListOnePage(target_, params_);
  if (!first.ok()) return first.error();
  pending_ = std::make_shared<s3::ListPage>(std::move(*first));
  if (CutAtLastKey(*pending_)) return OkStatus();
  return PrefetchAfter(*pending_);
}

Status PageReader::PrefetchAfter(const s3::ListPage& page) {
  if (Status st = progress_.Advance(page.is_truncated, page.next_continuation_token); !st.ok()) {
    done_ = true;
    return st;
  }
  if (!page.is_truncated) {
    done_ = true;
    return OkStatus();
  }
  params_.continuation_token = page.next_continuation_token;
  auto out = std::make_shared<s3::ListPage>();
  auto promise = std::make_shared<std::promise<Result<std::shared_ptr<s3::ListPage>>>>();
  next_ = promise->get_future();
  AsyncCall::Run(target_.transport, target_.Scope(), ListRequest(target_, params_), ParsePageInto(out),
                 [promise, out](Result<http::Response> r) {
                   if (r.ok()) return promise->set_value(out);
                   promise->set_value(r.error());
                 },
                 kMaxXmlBodyBytes);
  return OkStatus();
}

Result<std::shared_ptr<s3::ListPage>> PageReader::Next() {
  if (ranges_) return ranges_->Next();
  if (pending_) return std::move(pending_);
  if (done_ || !next_ || (target_.stop && *target_.stop)) return std::shared_ptr<s3::ListPage>();
  auto page = next_->get();
  next_.reset();
  if (!page.ok()) {
    done_ = true;
    return page.error();
  }
  if (CutAtLastKey(**page)) return page;
  if (Status st = PrefetchAfter(**page); !st.ok()) return st.error();
  return page;
}

}  // namespace riptide::engine
