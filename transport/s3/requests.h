// One request factory per S3 operation. Every request leaves here signed.
#pragma once

#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transport/http/transport.h"
#include "transport/s3/credentials.h"
#include "transport/s3/sigv4.h"
#include "transport/s3/uri.h"

namespace riptide::s3 {

enum class Addressing { kAuto, kPath, kVirtualHost };

/// Everything needed to address and sign requests to one S3 service.
struct ClientConfig {
  Endpoint endpoint;                  // default https://s3.REGION.amazonaws.com
  std::string region = "us-east-1";
  Addressing addressing = Addressing::kAuto;  // kAuto: path-style for IPs, localhost, dotted buckets
  Credentials credentials;            // long-lived keys, unless a provider is set
  /// Temporary keys kept current (web identity, container, instance metadata,
  /// credential_process); set by AttachCredentials when `credential_source` names one.
  std::shared_ptr<CredentialsProvider> provider;
  CredentialSource credential_source;
  bool anonymous = false;             // --no-sign-request: no Authorization at all
};

/// Inclusive byte range, as in `Range: bytes=first-last`.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

/// The object a server-side copy reads: `x-amz-copy-source`, guarded by its ETag so a
/// source replaced mid-copy fails with 412 instead of mixing two versions.
struct CopySource {
  std::string bucket;
  std::string key;
  std::string if_match;  // ETag, without quotes; empty: no guard
};

struct ListParams {
  std::string prefix;
  std::string continuation_token;
  std::string start_after;
  std::string delimiter;
  int max_keys = 1000;
};

/// An upload's CRC64NVME values, base64: each part's in order, and the whole object's.
struct UploadCrc {
  std::vector<std::string> parts;
  std::string whole;
};

class RequestFactory {
 public:
  explicit RequestFactory(ClientConfig config) : config_(std::move(config)) {}

  /// GET /?list-type=2 with encoding-type=url, so any key survives XML.
  http::Request ListObjectsV2(const std::string& bucket, const ListParams& params) const;
  /// HEAD of the object, or of one part of its multipart upload (`part_number` ≥ 1:
  /// Content-Length is that part's, x-amz-mp-parts-count the number of parts).
  http::Request HeadObject(const std::string& bucket, const std::string& key, int part_number = 0,
                           const std::string& if_match = {}) const;
  /// A whole or ranged GET; `if_match` (an ETag) makes a replaced object fail with 412.
  http::Request GetObject(const std::string& bucket, const std::string& key,
                          std::optional<ByteRange> range = std::nullopt,
                          const std::string& if_match = {}) const;

  /// GET /?uploads: multipart uploads begun and neither completed nor aborted.
  http::Request ListMultipartUploads(const std::string& bucket, const std::string& prefix,
                                     const std::string& key_marker, const std::string& upload_id_marker) const;
  /// DELETE /key?uploadId=ID: drops an unfinished upload and its parts.
  http::Request AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                     const std::string& upload_id) const;

  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// PUT of a whole object. `body_md5` is the body's MD5 in base64 (Content-MD5: the
  /// server refuses bytes that changed on the way); `headers` add Content-Type,
  /// x-amz-meta-* and checksums.
  http::Request PutObject(const std::string& bucket, const std::string& key,
                          std::shared_ptr<const std::string> body, const std::string& body_md5,
                          Headers headers = {}) const;
  /// Server-side copy of a whole object (≤ 5 GiB); the source's metadata goes with it.
  http::Request CopyObject(const std::string& bucket, const std::string& key, const CopySource& source) const;
  /// POST /key?uploads; `headers` carry the new object's Content-Type and metadata.
  http::Request CreateMultipartUpload(const std::string& bucket, const std::string& key, Headers headers) const;
  /// PUT of one part (`part_number` 1…10,000) with its Content-MD5 and, when given, its
  /// CRC64NVME (base64) for an upload created with that algorithm.
  http::Request UploadPart(const std::string& bucket, const std::string& key, const std::string& upload_id,
                           int part_number, std::shared_ptr<const std::string> body, const std::string& body_md5,
                           const std::string& crc64nvme = {}) const;
  /// One part copied server-side from a byte range of `source`.
  http::Request UploadPartCopy(const std::string& bucket, const std::string& key, const std::string& upload_id,
                               int part_number, const CopySource& source, ByteRange range) const;
  /// POST /key?uploadId=ID listing every part's ETag in order (part i+1 is `etags[i]`);
  /// with `crc`, each part's CRC64NVME and the whole object's (FULL_OBJECT), which S3
  /// checks against the bytes it assembled before the object exists.
  http::Request CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                                        const std::string& upload_id, const std::vector<std::string>& etags,
                                        const UploadCrc* crc = nullptr) const;
  /// POST /?delete for up to 1,000 keys, quiet (only failures come back), with Content-MD5.
  http::Request DeleteObjects(const std::string& bucket, const std::vector<std::string>& keys) const;
  /// GET / of the endpoint: the buckets the credentials own.
  http::Request ListBuckets() const;
  /// DELETE of one object; `if_match` (an ETag) makes a replaced object fail with 412
  /// where the server honours it.
  http::Request DeleteObject(const std::string& bucket, const std::string& key, const std::string& if_match = {}) const;

  const ClientConfig& config() const { return config_; }
  bool UsesPathStyle(const std::string& bucket) const;

 private:
  // Builds the URL for the addressing style, adds `headers`, then signs all of them.
  http::Request Make(std::string method, const std::string& bucket, const std::string& key,
                     const std::string& query, Headers headers = {}) const;
  ClientConfig config_;
};

}  // namespace riptide::s3
