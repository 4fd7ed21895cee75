#include "engine/core/crc_kernels.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define RIPTIDE_X86 1
#endif

namespace riptide::engine::crc {
namespace {

// Reflected byte table for a CRC of reversed polynomial `poly`.
template <typename T>
constexpr std::array<T, 256> MakeTable(T poly) {
  std::array<T, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    T c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kCrc32cTable = MakeTable<uint32_t>(0x82F63B78u);
constexpr auto kCrc64NvmeTable = MakeTable<uint64_t>(0x9A6C9329AC4BC9B5ull);

// x^n mod P for CRC64/NVME's P (normal form, x^64 implied), bit-reversed into the
// reflected layout where bit i stands for x^(63-i).
constexpr uint64_t XPowModP(unsigned n) {
  constexpr uint64_t kNormal = 0xAD93D23594C93659ull;
  uint64_t r = 1;
  for (unsigned i = 0; i < n; ++i) r = (r << 1) ^ ((r >> 63) ? kNormal : 0);
  uint64_t reflected = 0;
  for (int i = 0; i < 64; ++i) reflected |= ((r >> i) & 1) << (63 - i);
  return reflected;
}

// Folding a 128-bit accumulator forward by D bits: its low qword holds the higher
// powers (x^127..x^64), so it is multiplied by x^(D+63), the high qword by x^(D-1)
// (one power less than the distance: a carry-less product of reflected operands
// comes out multiplied by x).
struct FoldPair {
  uint64_t low, high;
};
constexpr FoldPair Fold(unsigned bits) { return {XPowModP(bits + 63), XPowModP(bits - 1)}; }
constexpr FoldPair kFold128 = Fold(128), kFold256 = Fold(256), kFold384 = Fold(384), kFold512 = Fold(512);

}  // namespace

uint32_t Crc32cTable(uint32_t raw, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) raw = kCrc32cTable[(raw ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (raw >> 8);
  return raw;
}

uint64_t Crc64NvmeTable(uint64_t raw, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) raw = kCrc64NvmeTable[(raw ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (raw >> 8);
  return raw;
}

#if RIPTIDE_X86

bool HaveCrc32cInstruction() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}

bool HaveCarrylessMultiply() {
  static const bool have = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return have;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t raw, const char* data, size_t size) {
  uint64_t c = raw;
  for (; size >= 8; data += 8, size -= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; size > 0; ++data, --size) c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*data));
  return c32;
}

namespace {

__attribute__((target("pclmul,sse4.1"))) inline __m128i FoldBy(__m128i acc, FoldPair k, __m128i next) {
  const __m128i keys = _mm_set_epi64x(static_cast<long long>(k.high), static_cast<long long>(k.low));
  const __m128i lo = _mm_clmulepi64_si128(acc, keys, 0x00);
  const __m128i hi = _mm_clmulepi64_si128(acc, keys, 0x11);
  return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i Load(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

}  // namespace

// Four accumulators 64 bytes apart, folded forward 512 bits a round; then merged into
// one, folded 128 bits at a time, and the last 16 bytes of state run through the table
// (the register after those bytes is the CRC of everything folded so far).
__attribute__((target("pclmul,sse4.1"))) uint64_t Crc64NvmeFolded(uint64_t raw, const char* data, size_t size) {
  if (size < 64) return Crc64NvmeTable(raw, data, size);
  __m128i a0 = _mm_xor_si128(Load(data), _mm_set_epi64x(0, static_cast<long long>(raw)));
  __m128i a1 = Load(data + 16), a2 = Load(data + 32), a3 = Load(data + 48);
  data += 64;
  size -= 64;
  for (; size >= 64; data += 64, size -= 64) {
    a0 = FoldBy(a0, kFold512, Load(data));
    a1 = FoldBy(a1, kFold512, Load(data + 16));
    a2 = FoldBy(a2, kFold512, Load(data + 32));
    a3 = FoldBy(a3, kFold512, Load(data + 48));
  }
  __m128i acc = FoldBy(a0, kFold384, FoldBy(a1, kFold256, FoldBy(a2, kFold128, a3)));
  for (; size >= 16; data += 16, size -= 16) acc = FoldBy(acc, kFold128, Load(data));
  alignas(16) char state[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(state), acc);
  return Crc64NvmeTable(Crc64NvmeTable(0, state, 16), data, size);
}

#else

bool HaveCrc32cInstruction() { return false; }
bool HaveCarrylessMultiply() { return false; }
uint32_t Crc32cHardware(uint32_t raw, const char* data, size_t size) { return Crc32cTable(raw, data, size); }
uint64_t Crc64NvmeFolded(uint64_t raw, const char* data, size_t size) { return Crc64NvmeTable(raw, data, size); }

#endif

}  // namespace riptide::engine::crc
