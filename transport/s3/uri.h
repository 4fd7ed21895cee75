// URL pieces for S3: percent-encoding per SigV4, s3:// URLs and endpoints.
#pragma once

#include <string>
#include <string_view>

#include "transport/result.h"

namespace riptide::s3 {

/// SigV4 URI encoding: every byte but A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case);
/// '/' is kept when `keep_slash` (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);

/// Decodes %XX escapes; with `plus_is_space`, '+' is a space (S3's encoding-type=url,
/// which encodes a literal '+' as %2B).
Result<std::string> UriDecode(std::string_view s, bool plus_is_space);

/// `s3://bucket[/prefix]`.
struct S3Url {
  std::string bucket;
  std::string prefix;  // may be empty; kept as written (no '/' added or removed)
};
Result<S3Url> ParseS3Url(std::string_view url);
bool LooksLikeS3Url(std::string_view s);

/// `scheme://host[:port][/base]`; host may be a bracketed IPv6 literal.
struct Endpoint {
  std::string scheme = "https";
  std::string host;       // without brackets
  std::string port;       // empty: the scheme's default
  std::string base_path;  // "" or "/something" (gateways mounted under a path)

  bool IsIpOrLocalhost() const;
  /// "host[:port]" as sent in the Host header (brackets kept for IPv6).
  std::string Authority(std::string_view host_override = {}) const;
};
Result<Endpoint> ParseEndpoint(std::string_view url);

/// "localhost", "::1" or an IPv4 address in 127.0.0.0/8: traffic that never leaves the machine.
bool IsLoopbackHost(std::string_view host);

}  // namespace riptide::s3
