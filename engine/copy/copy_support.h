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
#include "transport/s3/responses.h"

namespace riptide::engine {

/// A Content-Type for an uploaded file, from its extension (what `aws s3 cp` would send).
std::string ContentTypeFor(const std::string& path);

/// The bytes [offset, offset + length) of a local file, refusing a file that changed since
/// it was listed (its size or mtime) or while it was read.
Result<std::string> ReadLocalRange(const StreamEntry& source, uint64_t offset, uint64_t length);

/// --checksum for a local file: its MD5 against a plain ETag, or the multipart ETag it
/// makes when cut as its uploader most likely cut it (see GuessUploadParts). Reads the file.
bool LocalFileMatches(const StreamEntry& file, const s3::ObjectInfo& object, uint64_t part_size);

/// The ETag of an XML result (CopyObject, UploadPartCopy, Complete), as a check: a 200
/// whose body is an <Error> fails the call (and is retried when S3 says so).
Status EtagInBody(const http::Response& r);

}  // namespace riptide::engine
