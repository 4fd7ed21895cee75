#include "engine/core/checksums.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <array>

#include "transport/s3/crypto.h"

namespace riptide::engine {
namespace {

// Reflected table for a CRC of width W (32 or 64) and reversed polynomial `poly`.
template <typename T>
constexpr std::array<T, 256> MakeTable(T poly) {
  std::array<T, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    T crc = i;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr auto kCrc32cTable = MakeTable<uint32_t>(0x82F63B78u);
constexpr auto kCrc64NvmeTable = MakeTable<uint64_t>(0x9A6C9329AC4BC9B5ull);

template <typename T>
std::string BigEndianBase64(T value) {
  uint8_t bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * (sizeof(T) - 1 - i)));
  return s3::Base64Encode(bytes, sizeof(T));
}

class Crc32Sum final : public Checksum {
 public:
  void Update(const char* data, size_t size) override {
    crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(data), size);
  }
  std::string FinishBase64() override { return BigEndianBase64(static_cast<uint32_t>(crc_)); }

 private:
  uLong crc_ = crc32_z(0, nullptr, 0);
};

// A table-driven CRC (CRC32C, CRC64/NVME), kept as its raw value between updates.
template <typename T, T (*Fn)(T, const char*, size_t)>
class TableCrcSum final : public Checksum {
 public:
  void Update(const char* data, size_t size) override { crc_ = Fn(crc_, data, size); }
  std::string FinishBase64() override { return BigEndianBase64(crc_); }

 private:
  T crc_ = 0;
};

class ShaSum final : public Checksum {
 public:
  explicit ShaSum(const EVP_MD* md) : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), md, nullptr);
  }
  void Update(const char* data, size_t size) override { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string FinishBase64() override {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &len);
    return s3::Base64Encode(digest, len);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

uint32_t Crc32c(uint32_t crc, const char* data, size_t size) {
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kCrc32cTable[(crc ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint64_t Crc64Nvme(uint64_t crc, const char* data, size_t size) {
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kCrc64NvmeTable[(crc ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::unique_ptr<Checksum> Checksum::Make(std::string_view algorithm) {
  if (algorithm == "CRC32") return std::make_unique<Crc32Sum>();
  if (algorithm == "CRC32C") return std::make_unique<TableCrcSum<uint32_t, Crc32c>>();
  if (algorithm == "CRC64NVME") return std::make_unique<TableCrcSum<uint64_t, Crc64Nvme>>();
  if (algorithm == "SHA1") return std::make_unique<ShaSum>(EVP_sha1());
  if (algorithm == "SHA256") return std::make_unique<ShaSum>(EVP_sha256());
  return nullptr;
}

}  // namespace riptide::engine
