// The fake store's S3 semantics: which answer each request gets, and how it is
// delivered (in chunks, with the scripted fault for its key).
#include <algorithm>
#include <cstring>
#include <set>

#include "tests/support/fake_s3_internal.h"

namespace riptide::testing {
namespace {

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string XmlUnescape(std::string s) {
  const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : kEntities) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) s.replace(at, strlen(from), to);
  }
  return s;
}

std::string TimeText(int64_t s, const char* format) {
  std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> q;
  for (size_t i = 0; i < query.size();) {
    size_t amp = std::min(query.find('&', i), query.size());
    std::string pair = query.substr(i, amp - i);
    size_t eq = pair.find('=');
    auto name = s3::UriDecode(pair.substr(0, eq), false);
    auto value = s3::UriDecode(eq == std::string::npos ? "" : pair.substr(eq + 1), false);
    if (name.ok() && value.ok()) q[*name] = *value;
    i = amp + 1;
  }
  return q;
}

std::string RequestHeader(const http::Request& r, const char* name) {
  for (const auto& [n, v] : r.headers) {
    if (strcasecmp(n.c_str(), name) == 0) return v;
  }
  return {};
}

// Every <Tag>text</Tag> in `xml`, in order, unescaped.
std::vector<std::string> Elements(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t at = xml.find(open); at != std::string::npos; at = xml.find(open, at + 1)) {
    size_t end = xml.find(close, at);
    if (end == std::string::npos) break;
    out.push_back(XmlUnescape(xml.substr(at + open.size(), end - at - open.size())));
  }
  return out;
}

FakeS3::Answer ErrorAnswer(int status, const std::string& code) {
  FakeS3::Answer a;
  a.status = status;
  a.body = "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + code +
           "</Message><RequestId>fake</RequestId></Error>";
  return a;
}

FakeS3::Answer XmlAnswer(std::string body) {
  FakeS3::Answer a;
  a.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + std::move(body);
  return a;
}

}  // namespace

bool FakeS3::TakeFault(const std::string& key, Fault* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = faults_.find(key);
  if (it == faults_.end() || it->second.empty()) return false;
  Fault& f = it->second.front();
  *out = f;
  if (f.times > 0 && --f.times == 0) it->second.pop_front();
  return true;
}

FakeS3::Answer FakeS3::Route(const http::Request& r) {
  std::string rest = r.url.substr(std::string(kEndpoint).size() + 1);  // "bucket/key?query"
  std::string query;
  if (size_t qm = rest.find('?'); qm != std::string::npos) {
    query = rest.substr(qm + 1);
    rest.resize(qm);
  }
  const size_t slash = rest.find('/');
  const std::string bucket = rest.substr(0, slash);
  const std::string key = slash == std::string::npos ? "" : s3::UriDecode(rest.substr(slash + 1), false).value();
  const auto q = ParseQuery(query);
  {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(r.method + " " + (key.empty() ? (q.count("list-type") ? "LIST" : "?" + query) : key));
    if (!buckets_.count(bucket)) return ErrorAnswer(404, "NoSuchBucket");
  }
  if (r.method == "GET" && key.empty() && q.count("list-type")) return List(bucket, q);
  if (r.method == "GET" && key.empty()) return XmlAnswer("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>");
  if (r.method == "GET" || r.method == "HEAD") return GetOrHead(bucket, key, r, r.method == "HEAD");
  if (r.method == "PUT") return PutRequest(bucket, key, r, q);
  if (r.method == "POST") return Post(bucket, key, r, q);
  if (r.method == "DELETE") {
    std::lock_guard<std::mutex> lock(mu_);
    if (q.count("uploadId")) {
      if (!uploads_.erase(q.at("uploadId"))) return ErrorAnswer(404, "NoSuchUpload");
    } else {
      buckets_[bucket].erase(key);
    }
    Answer a;
    a.status = 204;
    return a;
  }
  return ErrorAnswer(501, "NotImplemented");
}

FakeS3::Answer FakeS3::GetOrHead(const std::string& bucket, const std::string& key, const http::Request& r,
                                 bool head) {
  Fault fault;
  const bool faulty = !head && TakeFault(key, &fault);
  if (faulty && fault.kind == Fault::Kind::kReplace) Put(bucket, key, fault.replacement);
  std::shared_ptr<const FakeObject> o = Get(bucket, key);
  if (!o || (faulty && fault.kind == Fault::Kind::kNotFound)) return ErrorAnswer(404, "NoSuchKey");
  if (faulty && fault.kind == Fault::Kind::kSlowDown) return ErrorAnswer(503, "SlowDown");
  const std::string if_match = RequestHeader(r, "If-Match");
  if (!if_match.empty() && if_match != "\"" + o->etag + "\"" && if_match != o->etag) {
    return ErrorAnswer(412, "PreconditionFailed");
  }
  Answer a;
  a.headers = {{"etag", "\"" + o->etag + "\""},
               {"last-modified", TimeText(o->last_modified_s, "%a, %d %b %Y %H:%M:%S GMT")}};
  for (const auto& [n, v] : o->headers) a.headers[n] = v;
  uint64_t first = 0, last = o->data.empty() ? 0 : o->data.size() - 1;
  const auto q = ParseQuery(r.url.find('?') == std::string::npos ? "" : r.url.substr(r.url.find('?') + 1));
  const std::string range = RequestHeader(r, "Range");
  if (q.count("partNumber")) {
    const size_t n = std::stoul(q.at("partNumber"));
    if (!o->part_sizes.empty()) {
      if (n < 1 || n > o->part_sizes.size()) return ErrorAnswer(416, "InvalidPartNumber");
      for (size_t i = 0; i + 1 < n; ++i) first += o->part_sizes[i];
      last = first + o->part_sizes[n - 1] - 1;
      a.headers["x-amz-mp-parts-count"] = std::to_string(o->part_sizes.size());
    }
    a.status = 206;
  } else if (range.rfind("bytes=", 0) == 0) {
    first = std::stoull(range.substr(6));
    last = std::min<uint64_t>(std::stoull(range.substr(range.find('-') + 1)), o->data.size() - 1);
    a.status = 206;
  }
  if (a.status == 206) {
    a.headers["content-range"] = "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                 std::to_string(o->data.size());
  }
  const uint64_t length = o->data.empty() ? 0 : last - first + 1;
  a.headers["content-length"] = std::to_string(length);
  if (!head) a.body = o->data.substr(first, length);
  a.key = key;
  if (faulty) a.fault = fault;
  return a;
}

FakeS3::Answer FakeS3::List(const std::string& bucket, const std::map<std::string, std::string>& q) {
  auto param = [&](const char* name) { return q.count(name) ? q.at(name) : std::string(); };
  const std::string prefix = param("prefix"), delimiter = param("delimiter");
  const std::string after = std::max(param("start-after"), param("continuation-token"));
  const size_t max_keys = q.count("max-keys") ? std::stoul(q.at("max-keys")) : 1000;
  const bool encode = param("encoding-type") == "url";
  auto text = [&](const std::string& k) { return XmlEscape(encode ? s3::UriEncode(k, true) : k); };
  std::string body, last;
  std::set<std::string> prefixes;
  size_t n = 0;
  bool truncated = false;
  std::lock_guard<std::mutex> lock(mu_);
  const auto& objects = buckets_[bucket];
  for (auto it = objects.upper_bound(after); it != objects.end(); ++it) {
    const std::string& k = it->first;
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    if (!delimiter.empty() && !after.empty() && after.size() > delimiter.size() &&
        after.compare(after.size() - delimiter.size(), delimiter.size(), delimiter) == 0 && k.rfind(after, 0) == 0) {
      continue;  // inside a common prefix the last page ended on
    }
    std::string common;
    if (size_t d = delimiter.empty() ? std::string::npos : k.find(delimiter, prefix.size()); d != std::string::npos) {
      common = k.substr(0, d + delimiter.size());
      if (prefixes.count(common)) continue;
    }
    if (n == max_keys) {
      truncated = true;
      break;
    }
    ++n;
    if (!common.empty()) {
      prefixes.insert(common);
      last = common;
      continue;
    }
    last = k;
    body += "<Contents><Key>" + text(k) + "</Key><LastModified>" +
            TimeText(it->second->last_modified_s, "%Y-%m-%dT%H:%M:%S.000Z") + "</LastModified><ETag>&quot;" +
            it->second->etag + "&quot;</ETag><Size>" + std::to_string(it->second->data.size()) +
            "</Size><StorageClass>STANDARD</StorageClass></Contents>";
  }
  for (const auto& p : prefixes) body += "<CommonPrefixes><Prefix>" + text(p) + "</Prefix></CommonPrefixes>";
  std::string head = "<ListBucketResult><Name>" + bucket + "</Name><KeyCount>" + std::to_string(n) +
                     "</KeyCount><IsTruncated>" + (truncated ? "true" : "false") + "</IsTruncated>";
  if (encode) head += "<EncodingType>url</EncodingType>";
  if (truncated) head += "<NextContinuationToken>" + XmlEscape(last) + "</NextContinuationToken>";
  return XmlAnswer(head + body + "</ListBucketResult>");
}

FakeS3::Answer FakeS3::PutRequest(const std::string& bucket, const std::string& key, const http::Request& r,
                                  const std::map<std::string, std::string>& q) {
  const std::string& body = r.Body();
  if (std::string md5 = RequestHeader(r, "Content-MD5"); !md5.empty() && md5 != s3::Base64Md5(body)) {
    return ErrorAnswer(400, "BadDigest");
  }
  if (!RequestHeader(r, "x-amz-copy-source").empty()) return ErrorAnswer(501, "NotImplemented");
  Answer a;
  a.headers["etag"] = "\"" + Md5Hex(body) + "\"";
  if (q.count("uploadId")) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = uploads_.find(q.at("uploadId"));
    if (it == uploads_.end()) return ErrorAnswer(404, "NoSuchUpload");
    it->second.parts[std::stoi(q.at("partNumber"))] = body;
    return a;
  }
  Put(bucket, key, body);
  return a;
}

FakeS3::Answer FakeS3::Post(const std::string& bucket, const std::string& key, const http::Request& r,
                            const std::map<std::string, std::string>& q) {
  std::lock_guard<std::mutex> lock(mu_);
  if (key.empty() && q.count("delete")) {
    for (const auto& k : Elements(r.Body(), "Key")) buckets_[bucket].erase(k);
    return XmlAnswer("<DeleteResult></DeleteResult>");
  }
  if (q.count("uploads")) {
    const std::string id = "upload-" + std::to_string(next_upload_++);
    uploads_[id] = Upload{bucket, key, {}};
    return XmlAnswer("<InitiateMultipartUploadResult><Bucket>" + bucket + "</Bucket><Key>" + XmlEscape(key) +
                     "</Key><UploadId>" + id + "</UploadId></InitiateMultipartUploadResult>");
  }
  auto it = q.count("uploadId") ? uploads_.find(q.at("uploadId")) : uploads_.end();
  if (it == uploads_.end()) return ErrorAnswer(404, "NoSuchUpload");
  const std::vector<std::string> etags = Elements(r.Body(), "ETag");
  if (etags.size() != it->second.parts.size()) return ErrorAnswer(400, "InvalidPart");
  auto o = std::make_shared<FakeObject>();
  std::vector<std::string> parts;
  for (const auto& [n, data] : it->second.parts) {
    parts.push_back(data);
    o->data += data;
    o->part_sizes.push_back(data.size());
  }
  o->etag = MultipartEtag(parts);
  o->last_modified_s = std::time(nullptr);
  uploads_.erase(it);
  buckets_[bucket][key] = o;
  return XmlAnswer("<CompleteMultipartUploadResult><Key>" + XmlEscape(key) + "</Key><ETag>&quot;" + o->etag +
                   "&quot;</ETag></CompleteMultipartUploadResult>");
}

void FakeS3::Serve(std::unique_ptr<Pending> p) {
  auto finish = [&p](auto&& deliver) {
    deliver();
    std::lock_guard<std::mutex> lock(p->scope->mu);
    --p->scope->in_flight;
    p->scope->cv.notify_all();
  };
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
  }
  if (p->scope->cancelled || stopping) {
    return finish([&] { p->handler->OnFailure(MakeError(ErrorCode::kCancelled, "transport shut down")); });
  }
  Answer a = Route(p->request);
  if (a.fault && a.fault->kind == Fault::Kind::kStall) {
    std::lock_guard<std::mutex> lock(mu_);
    stalled_.push_back(std::move(p));
    return;
  }
  finish([&] {
    const Fault::Kind kind = a.fault ? a.fault->kind : Fault::Kind::kNotFound;
    if (a.fault && kind == Fault::Kind::kFlipByte && !a.body.empty()) a.body[a.body.size() / 2] ^= 0x20;
    size_t n = a.body.size();
    if (a.fault && (kind == Fault::Kind::kReset || kind == Fault::Kind::kShortBody)) n /= 2;
    p->handler->OnHeaders(a.status, a.headers);
    for (size_t at = 0; at < n; at += kChunk) {
      if (!p->handler->OnBody(std::string_view(a.body).substr(at, std::min(kChunk, n - at)))) {
        return p->handler->OnFailure(MakeError(ErrorCode::kCancelled, "aborted by the handler"));
      }
    }
    if (!a.key.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      served_[a.key] += n;
    }
    if (a.fault && kind == Fault::Kind::kReset) {
      return p->handler->OnFailure(MakeError(ErrorCode::kNetwork, "connection reset by peer", true));
    }
    p->handler->OnComplete();
  });
}

}  // namespace riptide::testing
