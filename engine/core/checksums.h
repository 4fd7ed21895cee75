// S3's additional checksums (x-amz-checksum-*): CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace riptide::engine {

/// One running checksum; Finish() gives the base64 text S3 sends in its header.
class Checksum {
 public:
  virtual ~Checksum() = default;
  virtual void Update(const char* data, size_t size) = 0;
  virtual std::string FinishBase64() = 0;

  /// "CRC32", "CRC32C", "CRC64NVME", "SHA1" or "SHA256"; nullptr for anything else.
  static std::unique_ptr<Checksum> Make(std::string_view algorithm);
};

/// The raw CRC values, for tests against published check values.
uint32_t Crc32c(uint32_t crc, const char* data, size_t size);
uint64_t Crc64Nvme(uint64_t crc, const char* data, size_t size);

/// A CRC64/NVME value as S3's header carries it (big-endian, base64).
std::string Crc64NvmeBase64(uint64_t crc);

/// The CRC64/NVME of A followed by B, from the CRC of A, the CRC of B and B's length: the
/// parts of an upload are summed apart, on different threads, and joined in order.
uint64_t Crc64NvmeCombine(uint64_t crc_a, uint64_t crc_b, uint64_t length_b);

}  // namespace riptide::engine
