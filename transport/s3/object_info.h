// Value types that cross layers. Includes neither curl nor expat.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace riptide::s3 {

/// Larger than any object S3 stores (50 TB): a size above it is a server's lie, refused
/// before anything is planned or allocated for it.
inline constexpr uint64_t kMaxObjectBytes = uint64_t{50} << 40;

/// One object as a listing or a HEAD describes it.
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;              // without quotes; "d41d8…" or "9b2c…-3" for multipart
  int64_t last_modified_ms = 0;  // milliseconds since the Unix epoch, UTC
  std::string storage_class;
  std::string checksum_algorithm;  // e.g. "CRC32C", when the listing names one
};

/// One ListObjectsV2 page.
struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;
};

/// One unfinished multipart upload, as ListMultipartUploads describes it.
struct UploadInfo {
  std::string key;
  std::string upload_id;
  int64_t initiated_ms = 0;  // -1 when the server gave no readable date
};

/// One ListMultipartUploads page.
struct UploadsPage {
  std::vector<UploadInfo> uploads;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

/// Number of parts of a multipart ETag ("…-3" → 3), 0 for a plain one.
int MultipartEtagParts(const std::string& etag);

/// True when the ETag is a plain MD5 (32 hex digits) and so checks the content.
bool IsPlainMd5Etag(const std::string& etag);

/// A Content-Range header, "bytes FIRST-LAST/TOTAL".
struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t total = 0;
};
/// False when malformed (or "*" for the total).
bool ParseContentRange(const std::string& header, ContentRange* out);

/// "2026-11-22T03:24:48.000Z" (listings) → ms; -1 when malformed.
int64_t ParseIso8601Ms(const std::string& s);
/// "Sun, 22 Nov 2026 03:24:48 GMT" (Last-Modified header) → ms; -1 when malformed.
int64_t ParseHttpDateMs(const std::string& s);

}  // namespace riptide::s3
