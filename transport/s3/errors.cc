#include "transport/s3/errors.h"

#include <cctype>
#include <cstdlib>
#include <string_view>

#include "transport/s3/xml.h"

namespace riptide::s3 {
namespace {

struct Rule {
  std::string_view s3_code;
  ErrorCode code;
  bool retryable;
  std::string_view hint;  // what the user should do, for the errors users cause
};

// S3 error codes we act on. Anything else falls back to the HTTP status.
constexpr Rule kRules[] = {
    {"SlowDown", ErrorCode::kServer, true, ""},
    {"ServiceUnavailable", ErrorCode::kServer, true, ""},
    {"InternalError", ErrorCode::kServer, true, ""},
    {"RequestTimeout", ErrorCode::kServer, true, ""},
    {"RequestTimeTooSkewed", ErrorCode::kCredentials, false, "check this machine's clock"},
    // Temporary keys are refreshed before they expire: a retry signs with the new ones.
    {"ExpiredToken", ErrorCode::kCredentials, true, "the session token expired"},
    {"TokenRefreshRequired", ErrorCode::kCredentials, true, "the session token expired"},
    {"InvalidAccessKeyId", ErrorCode::kCredentials, false,
     "check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id"},
    {"SignatureDoesNotMatch", ErrorCode::kCredentials, false,
     "check the secret access key and the region"},
    {"InvalidToken", ErrorCode::kCredentials, false, "check AWS_SESSION_TOKEN"},
    {"AccessDenied", ErrorCode::kAccessDenied, false,
     "the credentials lack permission (s3:ListBucket / s3:GetObject)"},
    {"AllAccessDisabled", ErrorCode::kAccessDenied, false, ""},
    {"NoSuchBucket", ErrorCode::kNotFound, false, "check the bucket name and the endpoint"},
    {"NoSuchKey", ErrorCode::kNotFound, false, ""},
    {"PermanentRedirect", ErrorCode::kInvalidArgument, false,
     "the bucket lives in another region: set --region"},
    {"AuthorizationHeaderMalformed", ErrorCode::kInvalidArgument, false,
     "the region is probably wrong: set --region"},
    {"PreconditionFailed", ErrorCode::kPrecondition, false, "the object changed during the transfer"},
    {"InvalidRange", ErrorCode::kProtocol, false, ""},
    // What the server does not implement (UploadPartCopy on some): asking again is no use.
    {"NotImplemented", ErrorCode::kProtocol, false, ""},
};

Error FromStatus(int status) {
  Error e;
  e.http_status = status;
  if (status == 501) {
    e.code = ErrorCode::kProtocol;  // Not Implemented: the same answer every time
  } else if (status >= 500 || status == 429) {
    e.code = ErrorCode::kServer;
    e.retryable = true;
  } else if (status == 401) {
    e.code = ErrorCode::kCredentials;
  } else if (status == 403) {
    e.code = ErrorCode::kAccessDenied;
  } else if (status == 404) {
    e.code = ErrorCode::kNotFound;
  } else if (status == 412) {
    e.code = ErrorCode::kPrecondition;
  } else if (status == 408) {
    e.code = ErrorCode::kServer;
    e.retryable = true;
  } else {
    e.code = ErrorCode::kProtocol;
  }
  return e;
}

}  // namespace

Error ErrorFromParts(int status, const http::HeaderMap& headers, std::string_view body) {
  Error e = FromStatus(status);
  ErrorBody parsed = ParseErrorBody(body);
  if (!parsed.code.empty()) {
    e.s3_code = parsed.code;
    e.message = parsed.message;
    e.request_id = parsed.request_id;
    for (const Rule& r : kRules) {
      if (r.s3_code == parsed.code) {
        e.code = r.code;
        e.retryable = r.retryable;
        if (!r.hint.empty()) {
          e.message += e.message.empty() ? "" : "; ";
          e.message += r.hint;
        }
        break;
      }
    }
  } else if (status == 404) {
    e.message = "not found";
  } else if (status == 403) {
    e.message = "access denied";
  } else if (status == 400 && body.empty()) {
    e.message = "bad request";
  }
  if (e.request_id.empty()) {
    if (auto it = headers.find("x-amz-request-id"); it != headers.end()) e.request_id = it->second;
  }
  if (auto it = headers.find("retry-after"); it != headers.end()) {
    e.retry_after_s = std::atof(it->second.c_str());
  }
  if (e.message.empty()) e.message = "HTTP status " + std::to_string(status);
  return e;
}

Error ErrorFromResponse(const http::Response& response) {
  return ErrorFromParts(response.status, response.headers, response.body);
}

bool IsChecksumRefused(const Error& e) {
  if (e.s3_code == "BadDigest") return false;
  if (IsNotImplemented(e)) return true;
  if (e.http_status != 400) return false;
  std::string text = e.s3_code + " " + e.message;
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text.find("checksum") != std::string::npos || text.find("crc") != std::string::npos;
}

}  // namespace riptide::s3
