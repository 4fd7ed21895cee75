#include "transport/s3/sigv4.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>
#include <vector>

#include "transport/s3/crypto.h"
#include "transport/strings.h"

namespace riptide::s3 {
namespace {

// Trims and folds inner runs of spaces, as SigV4 asks of header values.
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Splits "scheme://authority/path?query" into its path and query.
void SplitUrl(std::string_view url, std::string_view* authority, std::string_view* path,
              std::string_view* query) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t path_start = url.find('/', start);
  size_t q = url.find('?', start);
  if (path_start == std::string_view::npos || (q != std::string_view::npos && q < path_start)) {
    path_start = q == std::string_view::npos ? url.size() : q;
    *authority = url.substr(start, path_start - start);
    *path = "/";
  } else {
    *authority = url.substr(start, path_start - start);
    *path = url.substr(path_start, (q == std::string_view::npos ? url.size() : q) - path_start);
  }
  *query = q == std::string_view::npos ? std::string_view() : url.substr(q + 1);
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalRequest(const http::Request& request, std::string_view payload_hash,
                             std::string* signed_headers) {
  std::string_view authority, path, query;
  SplitUrl(request.url, &authority, &path, &query);

  // Query parameters arrive encoded; SigV4 sorts them by name, then value.
  std::vector<std::pair<std::string_view, std::string_view>> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    if (!item.empty()) {
      size_t eq = item.find('=');
      params.emplace_back(item.substr(0, eq),
                          eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  std::sort(params.begin(), params.end());

  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    headers.emplace_back(AsciiLower(name), CanonicalValue(value));
  }
  std::sort(headers.begin(), headers.end());

  std::string out = request.method + "\n" + std::string(path) + "\n";
  for (size_t i = 0; i < params.size(); ++i) {
    if (i) out += "&";
    out += std::string(params[i].first) + "=" + std::string(params[i].second);
  }
  out += "\n";
  std::string names;
  for (size_t i = 0; i < headers.size(); ++i) {
    out += headers[i].first + ":" + headers[i].second + "\n";
    if (i) names += ";";
    names += headers[i].first;
  }
  out += "\n" + names + "\n" + std::string(payload_hash);
  if (signed_headers) *signed_headers = std::move(names);
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         HexEncode(Sha256(canonical_request));
}

std::string Signature(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view string_to_sign) {
  // The signing key depends on the secret, the day, the region and the service alone: a
  // thread derives it once a day, not four HMACs for every request.
  struct Derived {
    std::string secret, date, region, service;
    Sha256Digest key{};
  };
  thread_local Derived derived;
  auto as_view = [](const Sha256Digest& d) {
    return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
  };
  if (derived.date.empty() || derived.date != date || derived.secret != secret || derived.region != region ||
      derived.service != service) {
    auto k_date = HmacSha256("AWS4" + std::string(secret), date);
    auto k_region = HmacSha256(as_view(k_date), region);
    auto k_service = HmacSha256(as_view(k_region), service);
    derived = {std::string(secret), std::string(date), std::string(region), std::string(service),
               HmacSha256(as_view(k_service), "aws4_request")};
  }
  return HexEncode(HmacSha256(as_view(derived.key), string_to_sign));
}

void SignRequest(http::Request& request, const SigningParams& params) {
  std::string_view authority, path, query;
  SplitUrl(request.url, &authority, &path, &query);
  const std::string amz_date = AmzDate(params.time);
  const std::string date = amz_date.substr(0, 8);
  request.headers.emplace_back("Host", std::string(authority));
  request.headers.emplace_back("x-amz-date", amz_date);
  if (params.add_content_sha256_header) {
    request.headers.emplace_back("x-amz-content-sha256", params.payload_hash);
  }
  const Credentials& creds = *params.credentials;
  if (!creds.session_token.empty()) {
    request.headers.emplace_back("x-amz-security-token", creds.session_token);
  }
  std::string signed_headers;
  std::string canonical = CanonicalRequest(request, params.payload_hash, &signed_headers);
  std::string scope = date + "/" + params.region + "/" + params.service + "/aws4_request";
  std::string signature = Signature(creds.secret_access_key, date, params.region, params.service,
                                    StringToSign(amz_date, scope, canonical));
  request.headers.emplace_back(
      "Authorization", "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
                           ",SignedHeaders=" + signed_headers + ",Signature=" + signature);
}

}  // namespace riptide::s3
