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
  std::string out;
  if (!s3_code.empty()) {
    out = s3_code;
  } else {
    out = ErrorCodeName(code);
  }
  if (http_status != 0) out += " (HTTP " + std::to_string(http_status) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace riptide
