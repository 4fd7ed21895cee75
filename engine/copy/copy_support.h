// Pieces of a copy into a bucket that need no network: what metadata travels with an
// object, a file's Content-Type, reading a local file's range, and ETag arithmetic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/copy/object_streams.h"
#include "transport/http/transport.h"
#include "transport/result.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// The headers that describe an object (Content-Type, Cache-Control, …, x-amz-meta-*),
/// carried over to its copy.
s3::RequestFactory::Headers MetadataOf(const http::HeaderMap& h);

/// A Content-Type for an uploaded file, from its extension (what `aws s3 cp` would send).
std::string ContentTypeFor(const std::string& path);

std::string Md5Hex(std::string_view data);

/// "md5(md5(part 1)…md5(part N))-N" from the parts' hex MD5s; "" when one is not an MD5.
std::string CompositeEtag(const std::vector<std::string>& part_md5s);

/// The bytes [offset, offset + length) of a local file, refusing a file that changed since
/// it was listed (its size or mtime) or while it was read.
Result<std::string> ReadLocalRange(const StreamEntry& source, uint64_t offset, uint64_t length);

/// --checksum for a local file: its MD5 against a plain ETag, or the multipart ETag it
/// makes when cut as its uploader most likely cut it (see GuessUploadParts). Reads the file.
bool LocalFileMatches(const StreamEntry& file, const s3::ObjectInfo& object, uint64_t part_size);

/// The ETag of an XML result (CopyObject, UploadPartCopy, Complete), as a check: a 200
/// whose body is an <Error> fails the call (and is retried when S3 says so).
Status EtagInBody(const http::Response& r);

/// False when the response says the object is encrypted with KMS or a customer key: its
/// ETag is then no MD5 of the content, whatever it looks like.
bool EtagsAreMd5(const http::HeaderMap& headers);

/// A PUT's answer must name the MD5 of what was sent, when its ETag is an MD5 at all.
Status EtagIsMd5(const http::Response& r, const std::string& md5_hex);

}  // namespace riptide::engine
