#include "transport/result.h"

namespace riptide {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kCredentials: return "credentials";
    case ErrorCode::kAccessDenied: return "access-denied";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kNetwork: return "network";
    case ErrorCode::kServer: return "server";
    case ErrorCode::kPrecondition: return "precondition";
    case ErrorCode::kProtocol: return "protocol";
    case ErrorCode::kIntegrity: return "integrity";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::ToString() const {
  // What a user reads: the server's own code and status when there is one, then the
  // message; riptide's internal classification stays internal.
  std::string out;
  if (!s3_code.empty()) {
    out = s3_code;
    if (http_status != 0) out += " (HTTP " + std::to_string(http_status) + ")";
  } else if (http_status != 0) {
    out = "HTTP " + std::to_string(http_status);
  }
  if (message.empty()) return out.empty() ? ErrorCodeName(code) : out;
  return out.empty() ? message : out + ": " + message;
}

}  // namespace riptide
