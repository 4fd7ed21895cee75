#include "engine/core/checksums.h"

#include <array>

#include <openssl/evp.h>
#include <zlib.h>

#include "engine/core/crc_kernels.h"
#include "transport/s3/crypto.h"

namespace riptide::engine {
namespace {

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

// Polynomials over GF(2) modulo CRC64/NVME's, in its reflected form: the top bit is x^0.
constexpr uint64_t kReflectedPoly = 0x9A6C9329AC4BC9B5ull;
constexpr uint64_t kXPow0 = 1ull << 63;

// a·b mod P.
uint64_t MultiplyModP(uint64_t a, uint64_t b) {
  uint64_t product = 0;
  for (uint64_t bit = kXPow0; a != 0; bit >>= 1) {
    if (a & bit) {
      product ^= b;
      a ^= bit;
    }
    b = (b & 1) ? (b >> 1) ^ kReflectedPoly : b >> 1;
  }
  return product;
}

// x^(8·bytes) mod P, by squaring: powers[k] is x^(2^k), up to 8·2^64.
uint64_t XPowBytesModP(uint64_t bytes) {
  static const auto powers = [] {
    std::array<uint64_t, 67> p{};
    p[0] = kXPow0 >> 1;  // x^1
    for (size_t k = 1; k < p.size(); ++k) p[k] = MultiplyModP(p[k - 1], p[k - 1]);
    return p;
  }();
  uint64_t result = kXPow0;
  for (size_t k = 3; bytes != 0; bytes >>= 1, ++k) {  // 8·bytes: start at x^(2^3)
    if (bytes & 1) result = MultiplyModP(powers[k], result);
  }
  return result;
}

}  // namespace

// With the register's initial and final complements equal, A's complemented value moved
// past B's bits and added to B's is the value of A followed by B (as zlib joins CRC-32s).
uint64_t Crc64NvmeCombine(uint64_t crc_a, uint64_t crc_b, uint64_t length_b) {
  return MultiplyModP(XPowBytesModP(length_b), crc_a) ^ crc_b;
}

std::string Crc64NvmeBase64(uint64_t crc) { return BigEndianBase64(crc); }

uint32_t Crc32c(uint32_t crc, const char* data, size_t size) {
  static const auto kernel = crc::HaveCrc32cInstruction() ? crc::Crc32cHardware : crc::Crc32cTable;
  return ~kernel(~crc, data, size);
}

uint64_t Crc64Nvme(uint64_t crc, const char* data, size_t size) {
  static const auto kernel = crc::HaveCarrylessMultiply() ? crc::Crc64NvmeFolded : crc::Crc64NvmeTable;
  return ~kernel(~crc, data, size);
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
