// Hashes and MACs used by SigV4 and by integrity checks (OpenSSL underneath).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace riptide::s3 {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
Sha256Digest HmacSha256(std::string_view key, std::string_view data);
std::string HexEncode(const uint8_t* data, size_t size);
template <size_t N>
std::string HexEncode(const std::array<uint8_t, N>& digest) {
  return HexEncode(digest.data(), N);
}
std::string Base64Encode(const uint8_t* data, size_t size);

using Md5Digest = std::array<uint8_t, 16>;
Md5Digest Md5(std::string_view data);
/// The Content-MD5 header value of `data`: its MD5 in base64.
std::string Base64Md5(std::string_view data);
/// Hex MD5 → base64, as Content-MD5 wants it; "" when `hex` is not 32 hex digits.
std::string HexMd5ToBase64(std::string_view hex);

/// SHA-256 of the empty string, the payload hash of every bodiless request.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace riptide::s3
