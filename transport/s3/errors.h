// Deciding what an S3 response means: one table for every error code.
#pragma once

#include "transport/http/transport.h"
#include "transport/result.h"

namespace riptide::s3 {

/// True for 2xx (and 206).
inline bool IsSuccess(int status) { return status >= 200 && status < 300; }

/// The Error for a non-2xx response: its <Error> body when there is one, else the status;
/// retryable per the table in errors.cc; Retry-After honoured.
Error ErrorFromResponse(const http::Response& response);

/// The same from the parts a streaming handler kept.
Error ErrorFromParts(int status, const http::HeaderMap& headers, std::string_view body);

/// The server does not implement what was asked (HTTP 501, NotImplemented).
inline bool IsNotImplemented(const Error& e) { return e.http_status == 501 || e.s3_code == "NotImplemented"; }

/// A request refused for the x-amz-checksum-* headers it carried, by a server that knows
/// no such checksums or not this algorithm: 501 or NotImplemented, or a 400 whose code or
/// message names a checksum or a CRC (B2: "Unsupported header
/// 'x-amz-sdk-checksum-algorithm'"; gateways without CRC64NVME: InvalidRequest naming it).
/// Never BadDigest: that is a checksum checked and failed.
bool IsChecksumRefused(const Error& e);

/// CopyObject refused for the size of its source: AWS answers 400 InvalidRequest "The
/// specified copy source is larger than the maximum allowable size for a copy source"
/// above 5 GiB; other servers EntityTooLarge, some at a lower size.
inline bool IsCopySourceTooLarge(const Error& e) {
  if (e.http_status != 400) return false;
  return e.s3_code == "EntityTooLarge" ||
         (e.s3_code == "InvalidRequest" && e.message.find("copy source is larger") != std::string::npos);
}

}  // namespace riptide::s3
