#include "transport/http/curl_errors.h"

namespace riptide::http {

Error ErrorFromCurl(CURLcode code, const char* detail) {
  Error e;
  e.message = (detail && *detail) ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      e.code = ErrorCode::kInvalidArgument;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      e.code = ErrorCode::kInvalidArgument;  // TLS configuration: retrying will not help
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      e.code = ErrorCode::kNetwork;
      e.retryable = true;
      break;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      e.code = ErrorCode::kCancelled;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      e.code = ErrorCode::kNetwork;
      e.retryable = true;
      e.timed_out = true;
      break;
    default:  // resets, partial bodies, TLS hiccups
      e.code = ErrorCode::kNetwork;
      e.retryable = true;
      break;
  }
  return e;
}

}  // namespace riptide::http
