#include "transport/s3/responses.h"

#include <cctype>
#include <cstdlib>

#include "transport/strings.h"

namespace riptide::s3 {
namespace {

std::string Header(const http::HeaderMap& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? std::string() : it->second;
}

}  // namespace

ObjectInfo InfoFromHeaders(const std::string& key, const http::HeaderMap& headers) {
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoull(Header(headers, "content-length").c_str(), nullptr, 10);
  info.etag = StripQuotes(Header(headers, "etag"));
  info.last_modified_ms = std::max<int64_t>(0, ParseHttpDateMs(Header(headers, "last-modified")));
  return info;
}

std::optional<uint64_t> FirstPartSize(const std::string& etag, const http::HeaderMap& headers) {
  const std::string count = Header(headers, "x-amz-mp-parts-count");
  const uint64_t first = std::strtoull(Header(headers, "content-length").c_str(), nullptr, 10);
  const int parts = MultipartEtagParts(etag);
  if (parts <= 0 || count.empty() || std::atoi(count.c_str()) != parts || first == 0) return std::nullopt;
  return first;
}

namespace {

// Whether `value` is the base64 text of exactly `bytes` bytes: a server that labels a
// CRC32 as CRC64NVME (moto without awscrt does) tells no CRC64NVME at all.
bool IsBase64Of(const std::string& value, size_t bytes) {
  const size_t padding = (3 - bytes % 3) % 3;
  if (value.size() != (bytes + 2) / 3 * 4) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const bool pad = i >= value.size() - padding;
    if (pad ? c != '=' : !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) return false;
  }
  return true;
}

}  // namespace

std::optional<FullChecksum> FullObjectChecksum(const http::HeaderMap& headers) {
  if (Header(headers, "x-amz-checksum-type") == "COMPOSITE") return std::nullopt;
  struct Kind {
    const char* header;
    const char* algorithm;
    size_t bytes;
  };
  static constexpr Kind kKinds[] = {{"x-amz-checksum-sha256", "SHA256", 32},
                                    {"x-amz-checksum-crc64nvme", "CRC64NVME", 8},
                                    {"x-amz-checksum-crc32c", "CRC32C", 4},
                                    {"x-amz-checksum-sha1", "SHA1", 20},
                                    {"x-amz-checksum-crc32", "CRC32", 4}};
  for (const auto& kind : kKinds) {
    std::string value = Header(headers, kind.header);
    if (IsBase64Of(value, kind.bytes)) return FullChecksum{kind.algorithm, std::move(value)};
  }
  return std::nullopt;
}

bool EtagsAreMd5(const http::HeaderMap& headers) {
  auto it = headers.find("x-amz-server-side-encryption");
  if (it != headers.end() && it->second.rfind("aws:kms", 0) == 0) return false;
  return headers.find("x-amz-server-side-encryption-customer-algorithm") == headers.end();
}

Status EtagIsMd5(const http::Response& r, const std::string& md5_hex) {
  const std::string etag = StripQuotes(r.Header("etag"));
  if (EtagsAreMd5(r.headers) && IsPlainMd5Etag(etag) && etag != md5_hex) {
    // The bytes changed on the way: sent again, they most likely arrive whole.
    return MakeError(ErrorCode::kIntegrity, "the destination stored MD5 " + etag + " for bytes whose MD5 is " + md5_hex,
                     true);
  }
  return OkStatus();
}

RequestFactory::Headers MetadataOf(const http::HeaderMap& headers) {
  static constexpr const char* kKept[] = {"content-type",     "cache-control",    "content-disposition",
                                          "content-encoding", "content-language", "expires"};
  RequestFactory::Headers out;
  for (const char* name : kKept) {
    if (auto it = headers.find(name); it != headers.end() && !it->second.empty()) out.emplace_back(name, it->second);
  }
  for (const auto& [name, value] : headers) {
    if (name.rfind("x-amz-meta-", 0) == 0) out.emplace_back(name, value);
  }
  return out;
}

std::string Md5Hex(std::string_view data) { return HexEncode(Md5(data)); }

std::string CompositeEtag(const std::vector<Md5Digest>& part_digests) {
  std::string raw;
  for (const auto& d : part_digests) raw.append(reinterpret_cast<const char*>(d.data()), d.size());
  return Md5Hex(raw) + "-" + std::to_string(part_digests.size());
}

std::string CompositeEtag(const std::vector<std::string>& part_md5_hex) {
  std::vector<Md5Digest> digests;
  for (const auto& hex : part_md5_hex) {
    if (!IsPlainMd5Etag(hex)) return {};
    Md5Digest d{};
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    digests.push_back(d);
  }
  return CompositeEtag(digests);
}

}  // namespace riptide::s3
