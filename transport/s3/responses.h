// What S3 response headers say about an object, read in one place: HEAD/GET → object
// info, the part layout told by HEAD ?partNumber=1, additional checksums, encryption,
// the metadata a copy carries, and the multipart ETag arithmetic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/http/transport.h"
#include "transport/result.h"
#include "transport/s3/crypto.h"
#include "transport/s3/object_info.h"
#include "transport/s3/requests.h"

namespace riptide::s3 {

/// A HEAD's or whole GET's headers as object info: Content-Length, unquoted ETag,
/// Last-Modified (0 when unreadable).
ObjectInfo InfoFromHeaders(const std::string& key, const http::HeaderMap& headers);

/// The one rule for trusting `HEAD ?partNumber=1` of a multipart object
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): its
/// x-amz-mp-parts-count must equal the part count of `etag` ("…-N") and its
/// Content-Length, the first part's size, must be non-zero. nullopt: the server does not
/// tell part sizes.
std::optional<uint64_t> FirstPartSize(const std::string& etag, const http::HeaderMap& headers);

/// An S3 additional checksum of the whole object (x-amz-checksum-*), base64.
struct FullChecksum {
  std::string algorithm;  // "SHA256", "CRC64NVME", "CRC32C", "SHA1", "CRC32"
  std::string value;
};
/// The strongest full-object checksum in the headers. Composite ones ("…-N", checksums
/// of part checksums) are not full-object and are left out.
std::optional<FullChecksum> FullObjectChecksum(const http::HeaderMap& headers);

/// False when the response says the object is encrypted with KMS or a customer key: its
/// ETag is then no MD5 of the content, whatever it looks like.
bool EtagsAreMd5(const http::HeaderMap& headers);

/// A PUT's answer must name the MD5 of what was sent, when its ETag is an MD5 at all;
/// a mismatch is retryable: the body was damaged on the way.
Status EtagIsMd5(const http::Response& r, const std::string& md5_hex);

/// The headers that describe an object (Content-Type, Cache-Control, …, x-amz-meta-*),
/// carried over to its copy.
RequestFactory::Headers MetadataOf(const http::HeaderMap& headers);

std::string Md5Hex(std::string_view data);

/// "md5(md5(part 1)…md5(part N))-N", S3's multipart ETag, from the parts' raw digests.
std::string CompositeEtag(const std::vector<Md5Digest>& part_digests);
/// The same from the parts' hex MD5s; "" when one is not an MD5.
std::string CompositeEtag(const std::vector<std::string>& part_md5_hex);

}  // namespace riptide::s3
