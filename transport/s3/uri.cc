#include "transport/s3/uri.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace riptide::s3 {

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::string> UriDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) {
        return MakeError(ErrorCode::kProtocol, "truncated percent escape in an encoded key");
      }
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return MakeError(ErrorCode::kProtocol, "bad percent escape in an encoded key");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool LooksLikeS3Url(std::string_view s) { return s.rfind("s3://", 0) == 0; }

Result<S3Url> ParseS3Url(std::string_view url) {
  if (!LooksLikeS3Url(url)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(url) + "' is not an s3:// URL (expected s3://BUCKET[/PREFIX])");
  }
  std::string_view rest = url.substr(5);
  size_t slash = rest.find('/');
  S3Url out;
  out.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.prefix = std::string(rest.substr(slash + 1));
  if (out.bucket.empty() || out.bucket.size() > 255) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + std::string(url) + "' names no bucket");
  }
  for (unsigned char c : out.bucket) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bucket name '" + out.bucket + "' has a character S3 does not allow");
    }
  }
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  return inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

bool Endpoint::IsIpOrLocalhost() const {
  if (host == "localhost") return true;
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string Endpoint::Authority(std::string_view host_override) const {
  std::string h = host_override.empty() ? host : std::string(host_override);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  if (!port.empty()) h += ":" + port;
  return h;
}

namespace {

// The URL as it may be printed: a user:password@ part is never echoed.
std::string Printable(std::string_view url) {
  std::string text(url);
  const size_t sep = text.find("://");
  const size_t start = sep == std::string::npos ? 0 : sep + 3;
  const size_t end = std::min(text.find('/', start), text.size());
  const size_t at = text.rfind('@', end == 0 ? 0 : end - 1);
  if (at != std::string::npos && at >= start && at < end) text.replace(start, at - start, "…");
  return text;
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "endpoint '" + Printable(url) + "' is malformed: " + why);
  };
  Endpoint ep;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("expected http://HOST[:PORT] or https://HOST[:PORT]");
  ep.scheme = std::string(url.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") return bad("the scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    ep.base_path = std::string(rest.substr(path_start));
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  }
  if (authority.find('@') != std::string_view::npos) return bad("credentials do not belong in the URL");
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in an IPv6 address");
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 address");
      ep.port = std::string(after.substr(1));
    }
  } else {
    size_t colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) ep.port = std::string(authority.substr(colon + 1));
  }
  if (ep.host.empty()) return bad("no host");
  for (unsigned char c : ep.host) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_')) return bad("bad character in the host");
  }
  if (!ep.port.empty()) {
    for (unsigned char c : ep.port) {
      if (!std::isdigit(c)) return bad("the port must be a number");
    }
    long p = std::stol(ep.port.substr(0, 6));
    if (p < 1 || p > 65535) return bad("the port must be 1-65535");
  }
  return ep;
}

}  // namespace riptide::s3
