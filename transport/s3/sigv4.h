// AWS Signature Version 4 for header-signed requests. Each step is exposed so a test
// against AWS's worked examples points at the step that broke.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "transport/http/transport.h"

namespace riptide::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // STS; sent as x-amz-security-token
};

struct SigningParams {
  const Credentials* credentials = nullptr;
  std::string region = "us-east-1";
  std::string service = "s3";
  std::chrono::system_clock::time_point time;
  std::string payload_hash = "UNSIGNED-PAYLOAD";  // hex SHA-256 of the body, or this
  bool add_content_sha256_header = true;         // S3 wants x-amz-content-sha256
};

/// "20130524T000000Z".
std::string AmzDate(std::chrono::system_clock::time_point t);

/// The canonical request of `request` (its URL already encoded, every header to sign
/// present, Host included). Returns the signed-headers list through `signed_headers`.
std::string CanonicalRequest(const http::Request& request, std::string_view payload_hash,
                             std::string* signed_headers);

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

/// Hex signature: HMAC chain over date, region, service, "aws4_request".
std::string Signature(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view string_to_sign);

/// Adds Host (from the URL), x-amz-date, x-amz-content-sha256, x-amz-security-token and
/// Authorization to `request`.
void SignRequest(http::Request& request, const SigningParams& params);

}  // namespace riptide::s3
