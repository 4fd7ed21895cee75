// libFuzzer target: the accelerated CRC kernels against the byte tables. Whatever the
// bytes, their length and the starting register, PCLMULQDQ folding gives CRC64/NVME's
// table value and SSE4.2's crc32 CRC32C's; split anywhere, the pieces chain to the whole.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/core/crc_kernels.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace crc = riptide::engine::crc;
  if (size < 9 || !crc::HaveCarrylessMultiply() || !crc::HaveCrc32cInstruction()) return 0;
  uint64_t raw;
  std::memcpy(&raw, data, 8);
  const size_t split = data[8] % (size - 8);
  const char* bytes = reinterpret_cast<const char*>(data + 9);
  const size_t n = size - 9;
  const uint64_t table64 = crc::Crc64NvmeTable(raw, bytes, n);
  Check(crc::Crc64NvmeFolded(raw, bytes, n) == table64);
  Check(crc::Crc64NvmeFolded(crc::Crc64NvmeFolded(raw, bytes, split), bytes + split, n - split) == table64);
  const uint32_t raw32 = static_cast<uint32_t>(raw);
  const uint32_t table32 = crc::Crc32cTable(raw32, bytes, n);
  Check(crc::Crc32cHardware(raw32, bytes, n) == table32);
  Check(crc::Crc32cHardware(crc::Crc32cHardware(raw32, bytes, split), bytes + split, n - split) == table32);
  return 0;
}
