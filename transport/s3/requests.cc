#include "transport/s3/requests.h"

#include <cctype>

#include "transport/s3/crypto.h"
#include "transport/s3/xml.h"


namespace riptide::s3 {
namespace {

bool IsDnsCompatible(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (unsigned char c : bucket) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-')) return false;  // dots break TLS names
  }
  return true;
}

void AddParam(std::string& query, const char* name, const std::string& value) {
  if (!query.empty()) query += "&";
  query += name;
  query += "=";
  query += UriEncode(value, false);
}

std::string CopySourceHeader(const CopySource& source) {
  return "/" + UriEncode(source.bucket, false) + "/" + UriEncode(source.key, /*keep_slash=*/true);
}

void AddCopySource(RequestFactory::Headers& headers, const CopySource& source) {
  headers.emplace_back("x-amz-copy-source", CopySourceHeader(source));
  if (!source.if_match.empty()) headers.emplace_back("x-amz-copy-source-if-match", "\"" + source.if_match + "\"");
}

// Calls every S3 answers at once, from its index (a listing page, a HEAD): the whole
// exchange gets a deadline, so a server that trickles a byte a second cannot hold a run.
// Not CopyObject or CompleteMultipartUpload, which S3 keeps alive with whitespace for
// minutes while it works.
http::Request Prompt(http::Request request) {
  request.prompt = true;
  return request;
}

}  // namespace

bool RequestFactory::UsesPathStyle(const std::string& bucket) const {
  switch (config_.addressing) {
    case Addressing::kPath: return true;
    case Addressing::kVirtualHost: return false;
    case Addressing::kAuto: return config_.endpoint.IsIpOrLocalhost() || !IsDnsCompatible(bucket);
  }
  return true;
}

http::Request RequestFactory::Make(std::string method, const std::string& bucket,
                                   const std::string& key, const std::string& query,
                                   Headers headers) const {
  const Endpoint& ep = config_.endpoint;
  std::string path = ep.base_path;
  std::string authority;
  if (bucket.empty()) {  // the service itself (ListBuckets)
    authority = ep.Authority();
    path += "/";
  } else if (UsesPathStyle(bucket)) {
    authority = ep.Authority();
    path += "/" + UriEncode(bucket, false);
  } else {
    authority = ep.Authority(bucket + "." + ep.host);
  }
  // Bucket-level requests go to "/bucket", not "/bucket/", in path style: it is what the
  // AWS SDKs send, and servers that rebuild the path to check signatures (moto) drop the slash.
  if (!bucket.empty() && (!key.empty() || !UsesPathStyle(bucket))) path += "/" + UriEncode(key, /*keep_slash=*/true);
  http::Request r;
  r.method = std::move(method);
  r.url = ep.scheme + "://" + authority + path;
  if (!query.empty()) r.url += "?" + query;
  r.headers = std::move(headers);
  if (!config_.anonymous) {
    SigningParams p;
    const Credentials keys = config_.provider ? config_.provider->Current() : config_.credentials;
    p.credentials = &keys;
    p.region = config_.region;
    p.time = std::chrono::system_clock::now();
    SignRequest(r, p);
  }
  return r;
}

http::Request RequestFactory::ListObjectsV2(const std::string& bucket, const ListParams& params) const {
  std::string query;
  if (!params.continuation_token.empty()) AddParam(query, "continuation-token", params.continuation_token);
  if (!params.delimiter.empty()) AddParam(query, "delimiter", params.delimiter);
  AddParam(query, "encoding-type", "url");
  AddParam(query, "list-type", "2");
  AddParam(query, "max-keys", std::to_string(params.max_keys));
  if (!params.prefix.empty()) AddParam(query, "prefix", params.prefix);
  if (!params.start_after.empty()) AddParam(query, "start-after", params.start_after);
  return Prompt(Make("GET", bucket, "", query));
}

http::Request RequestFactory::HeadObject(const std::string& bucket, const std::string& key,
                                         int part_number, const std::string& if_match) const {
  Headers extra;
  if (!if_match.empty()) extra.emplace_back("If-Match", "\"" + if_match + "\"");
  // Ask for the object's additional checksums (CRC32C, SHA-256, …), if it has any.
  extra.emplace_back("x-amz-checksum-mode", "ENABLED");
  std::string query = part_number > 0 ? "partNumber=" + std::to_string(part_number) : std::string();
  return Prompt(Make("HEAD", bucket, key, query, std::move(extra)));
}

http::Request RequestFactory::GetObject(const std::string& bucket, const std::string& key,
                                        std::optional<ByteRange> range,
                                        const std::string& if_match) const {
  Headers extra;
  if (range) {
    extra.emplace_back("Range", "bytes=" + std::to_string(range->first) + "-" +
                                    std::to_string(range->last));
  }
  if (!if_match.empty()) extra.emplace_back("If-Match", "\"" + if_match + "\"");
  // Whole GETs carry the object's additional checksums; ranges never do.
  if (!range) extra.emplace_back("x-amz-checksum-mode", "ENABLED");
  return Make("GET", bucket, key, "", std::move(extra));
}

http::Request RequestFactory::ListMultipartUploads(const std::string& bucket, const std::string& prefix,
                                                  const std::string& key_marker,
                                                  const std::string& upload_id_marker) const {
  std::string query;
  AddParam(query, "encoding-type", "url");
  if (!key_marker.empty()) AddParam(query, "key-marker", key_marker);
  if (!prefix.empty()) AddParam(query, "prefix", prefix);
  if (!upload_id_marker.empty()) AddParam(query, "upload-id-marker", upload_id_marker);
  AddParam(query, "uploads", "");
  return Prompt(Make("GET", bucket, "", query));
}

http::Request RequestFactory::AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                                   const std::string& upload_id) const {
  std::string query;
  AddParam(query, "uploadId", upload_id);
  return Make("DELETE", bucket, key, query);
}

http::Request RequestFactory::PutObject(const std::string& bucket, const std::string& key,
                                       std::shared_ptr<const std::string> body, const std::string& body_md5,
                                       Headers headers) const {
  headers.emplace_back("Content-MD5", body_md5);
  http::Request r = Make("PUT", bucket, key, "", std::move(headers));
  r.shared_body = std::move(body);
  return r;
}

http::Request RequestFactory::CopyObject(const std::string& bucket, const std::string& key,
                                         const CopySource& source) const {
  Headers headers;
  AddCopySource(headers, source);
  headers.emplace_back("x-amz-metadata-directive", "COPY");
  return Make("PUT", bucket, key, "", std::move(headers));
}

http::Request RequestFactory::CreateMultipartUpload(const std::string& bucket, const std::string& key,
                                                    Headers headers) const {
  return Make("POST", bucket, key, "uploads=", std::move(headers));
}

http::Request RequestFactory::UploadPart(const std::string& bucket, const std::string& key,
                                         const std::string& upload_id, int part_number,
                                         std::shared_ptr<const std::string> body, const std::string& body_md5,
                                         const std::string& crc64nvme) const {
  std::string query;
  AddParam(query, "partNumber", std::to_string(part_number));
  AddParam(query, "uploadId", upload_id);
  Headers headers{{"Content-MD5", body_md5}};
  if (!crc64nvme.empty()) {
    headers.emplace_back("x-amz-sdk-checksum-algorithm", "CRC64NVME");
    headers.emplace_back("x-amz-checksum-crc64nvme", crc64nvme);
  }
  http::Request r = Make("PUT", bucket, key, query, std::move(headers));
  r.shared_body = std::move(body);
  return r;
}

http::Request RequestFactory::UploadPartCopy(const std::string& bucket, const std::string& key,
                                             const std::string& upload_id, int part_number,
                                             const CopySource& source, ByteRange range) const {
  std::string query;
  AddParam(query, "partNumber", std::to_string(part_number));
  AddParam(query, "uploadId", upload_id);
  Headers headers;
  AddCopySource(headers, source);
  headers.emplace_back("x-amz-copy-source-range",
                       "bytes=" + std::to_string(range.first) + "-" + std::to_string(range.last));
  return Make("PUT", bucket, key, query, std::move(headers));
}

http::Request RequestFactory::CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                                                      const std::string& upload_id,
                                                      const std::vector<std::string>& etags,
                                                      const UploadCrc* crc) const {
  std::string query;
  AddParam(query, "uploadId", upload_id);
  std::string body = CompleteMultipartUploadXml(etags, crc ? &crc->parts : nullptr);
  Headers headers{{"Content-Type", "application/xml"}};
  if (crc) {
    headers.emplace_back("x-amz-checksum-crc64nvme", crc->whole);
    headers.emplace_back("x-amz-checksum-type", "FULL_OBJECT");
  }
  http::Request r = Make("POST", bucket, key, query, std::move(headers));
  r.body = std::move(body);
  return r;
}

http::Request RequestFactory::DeleteObjects(const std::string& bucket, const std::vector<std::string>& keys) const {
  std::string body = DeleteObjectsXml(keys);
  std::string md5 = Base64Md5(body);
  http::Request r = Make("POST", bucket, "", "delete=", {{"Content-MD5", md5}, {"Content-Type", "application/xml"}});
  r.body = std::move(body);
  return r;
}

http::Request RequestFactory::ListBuckets() const { return Prompt(Make("GET", "", "", "")); }

http::Request RequestFactory::DeleteObject(const std::string& bucket, const std::string& key,
                                           const std::string& if_match) const {
  Headers extra;
  if (!if_match.empty()) extra.emplace_back("If-Match", "\"" + if_match + "\"");
  return Make("DELETE", bucket, key, "", std::move(extra));
}

}  // namespace riptide::s3
