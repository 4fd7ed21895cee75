// Errors as values, shared by every layer of riptide.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace riptide {

/// What went wrong, coarsely: decides the exit code and whether a retry can help.
enum class ErrorCode {
  kInvalidArgument,   // bad flag, URL or configuration (exit 2)
  kCredentials,       // missing or rejected credentials (exit 2)
  kAccessDenied,      // 403 (exit 2 for a listing, a per-object failure otherwise)
  kNotFound,          // NoSuchBucket / NoSuchKey / 404
  kNetwork,           // connect, reset, timeout, short body
  kServer,            // 5xx, SlowDown, RequestTimeout
  kPrecondition,      // 412: the object changed under us
  kProtocol,          // a response we cannot make sense of
  kIntegrity,         // checksum or size mismatch
  kIo,                // local file system
  kCancelled,
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

/// One error type for every layer: transport fills http_status, S3 fills s3_code.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  bool retryable = false;
  int http_status = 0;
  std::string s3_code;     // e.g. "NoSuchBucket"
  std::string message;     // human text, never holds secrets
  std::string request_id;  // x-amz-request-id, when the server gave one
  double retry_after_s = 0;  // Retry-After, when the server gave one
  int os_errno = 0;          // errno of a local file-system failure
  bool timed_out = false;    // the exchange ran past a timeout (or stalled below the low-speed limit)

  /// "NoSuchBucket (HTTP 404): The specified bucket does not exist".
  std::string ToString() const;
};

inline Error MakeError(ErrorCode code, std::string message, bool retryable = false) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

/// A value or an Error. Small on purpose: has_value(), value(), error(), and `*`/`->`.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}   // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace riptide
