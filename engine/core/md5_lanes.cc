#include "engine/core/md5_lanes.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#if defined(__x86_64__)
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*(), which its
// own -Wmaybe-uninitialized then reports inside the headers (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define RIPTIDE_X86 1
#endif

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "MD5 words are read as little-endian");

namespace riptide::engine::md5 {
namespace {

constexpr uint32_t kK[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr int kS[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9,  14, 20, 5, 9,
                        14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                        4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

constexpr int MessageIndex(int i) {
  return i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16;
}

inline uint32_t Rol(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

std::string Hex(const State& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int w = 0; w < 4; ++w) {
    for (int b = 0; b < 4; ++b) {
      const uint8_t byte = static_cast<uint8_t>(s.h[w] >> (8 * b));
      out[8 * w + 2 * b] = kDigits[byte >> 4];
      out[8 * w + 2 * b + 1] = kDigits[byte & 15];
    }
  }
  return out;
}

std::string OpensslHex(std::string_view b) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(b.data(), b.size(), digest, &len, EVP_md5(), nullptr);
  State s;
  std::memcpy(s.h, digest, 16);  // little-endian words: the byte order Hex() prints
  return Hex(s);
}

#if RIPTIDE_X86

#define RIPTIDE_AVX512 __attribute__((target("avx512f")))

// The 16 lanes' blocks, one row each, turned into 16 registers of one message word each.
RIPTIDE_AVX512 inline void Transpose(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i v88 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x88), vdd = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xDD);
    const __m512i w88 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x88);
    const __m512i wdd = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xDD);
    r[m] = _mm512_shuffle_i32x4(v88, w88, 0x88);
    r[8 + m] = _mm512_shuffle_i32x4(v88, w88, 0xDD);
    r[4 + m] = _mm512_shuffle_i32x4(vdd, wdd, 0x88);
    r[12 + m] = _mm512_shuffle_i32x4(vdd, wdd, 0xDD);
  }
}

// Round functions as ternary logic of (b, c, d): F = b?c:d, G = d?b:c, H = b^c^d,
// I = c^(b|~d).
constexpr int kLogic[4] = {0xCA, 0xE4, 0x96, 0x39};

template <int I>
RIPTIDE_AVX512 inline void Step(__m512i& a, __m512i& b, __m512i& c, __m512i& d, const __m512i m[16]) {
  const __m512i f = _mm512_ternarylogic_epi32(b, c, d, kLogic[I / 16]);
  __m512i t = _mm512_add_epi32(_mm512_add_epi32(a, f),
                               _mm512_add_epi32(m[MessageIndex(I)], _mm512_set1_epi32(static_cast<int>(kK[I]))));
  t = _mm512_add_epi32(b, _mm512_rol_epi32(t, kS[I]));
  a = d;
  d = c;
  c = b;
  b = t;
}

template <size_t... I>
RIPTIDE_AVX512 inline void Steps(__m512i& a, __m512i& b, __m512i& c, __m512i& d, const __m512i m[16],
                                 std::index_sequence<I...>) {
  (Step<static_cast<int>(I)>(a, b, c, d, m), ...);
}

RIPTIDE_AVX512 void Compress16(Lane* lanes, int n) {
  alignas(64) static const uint8_t kIdle[kBlock] = {};
  alignas(64) uint32_t words[4][kLanes] = {};
  size_t most = 0;
  for (int l = 0; l < n; ++l) {
    for (int w = 0; w < 4; ++w) words[w][l] = lanes[l].state->h[w];
    most = std::max(most, lanes[l].blocks);
  }
  __m512i h[4];
  for (int w = 0; w < 4; ++w) h[w] = _mm512_load_si512(words[w]);
  for (size_t j = 0; j < most; ++j) {
    __mmask16 active = 0;
    __m512i m[16];
    for (int l = 0; l < kLanes; ++l) {
      const bool live = l < n && j < lanes[l].blocks;
      if (live) active = static_cast<__mmask16>(active | (1u << l));
      m[l] = _mm512_loadu_si512(live ? lanes[l].data + j * kBlock : kIdle);
    }
    Transpose(m);
    __m512i a = h[0], b = h[1], c = h[2], d = h[3];
    Steps(a, b, c, d, m, std::make_index_sequence<64>());
    h[0] = _mm512_mask_add_epi32(h[0], active, h[0], a);
    h[1] = _mm512_mask_add_epi32(h[1], active, h[1], b);
    h[2] = _mm512_mask_add_epi32(h[2], active, h[2], c);
    h[3] = _mm512_mask_add_epi32(h[3], active, h[3], d);
  }
  for (int w = 0; w < 4; ++w) _mm512_store_si512(words[w], h[w]);
  for (int l = 0; l < n; ++l) {
    for (int w = 0; w < 4; ++w) lanes[l].state->h[w] = words[w][l];
  }
}

#endif

}  // namespace

bool HaveLanes() {
#if RIPTIDE_X86
  static const bool have = __builtin_cpu_supports("avx512f");
  return have;
#else
  return false;
#endif
}

namespace {

// One step of one stream, unrolled by the compiler like the lanes' steps.
template <int I>
inline void OneStep(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, const uint32_t m[16]) {
  uint32_t f;
  if constexpr (I < 16) {
    f = d ^ (b & (c ^ d));
  } else if constexpr (I < 32) {
    f = c ^ (d & (b ^ c));
  } else if constexpr (I < 48) {
    f = b ^ c ^ d;
  } else {
    f = c ^ (b | ~d);
  }
  const uint32_t t = b + Rol(a + f + kK[I] + m[MessageIndex(I)], kS[I]);
  a = d;
  d = c;
  c = b;
  b = t;
}

template <size_t... I>
inline void OneSteps(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, const uint32_t m[16],
                     std::index_sequence<I...>) {
  (OneStep<static_cast<int>(I)>(a, b, c, d, m), ...);
}

}  // namespace

void CompressOne(State& state, const uint8_t* data, size_t blocks) {
  for (size_t j = 0; j < blocks; ++j, data += kBlock) {
    uint32_t m[16];
    std::memcpy(m, data, kBlock);  // little-endian words (x86-64, AArch64)
    uint32_t a = state.h[0], b = state.h[1], c = state.h[2], d = state.h[3];
    OneSteps(a, b, c, d, m, std::make_index_sequence<64>());
    state.h[0] += a;
    state.h[1] += b;
    state.h[2] += c;
    state.h[3] += d;
  }
}

void Compress(Lane* lanes, int n) {
#if RIPTIDE_X86
  if (HaveLanes() && n > 1) {
    for (int i = 0; i < n; i += kLanes) Compress16(lanes + i, std::min(n - i, kLanes));
    return;
  }
#endif
  for (int l = 0; l < n; ++l) CompressOne(*lanes[l].state, lanes[l].data, lanes[l].blocks);
}

std::array<uint8_t, 16> FinishRaw(State state, const uint8_t* tail, size_t tail_size, uint64_t total) {
  uint8_t pad[2 * kBlock] = {};
  if (tail_size > 0) std::memcpy(pad, tail, tail_size);  // an empty tail may be null
  pad[tail_size] = 0x80;
  const size_t blocks = tail_size + 1 + 8 <= kBlock ? 1 : 2;
  const uint64_t bits = total * 8;
  for (int i = 0; i < 8; ++i) pad[blocks * kBlock - 8 + i] = static_cast<uint8_t>(bits >> (8 * i));
  CompressOne(state, pad, blocks);
  std::array<uint8_t, 16> out;
  std::memcpy(out.data(), state.h, 16);  // little-endian words, as MD5 prints them
  return out;
}

std::string Finish(State state, const uint8_t* tail, size_t tail_size, uint64_t total) {
  const std::array<uint8_t, 16> raw = FinishRaw(state, tail, tail_size, total);
  State s;
  std::memcpy(s.h, raw.data(), 16);
  return Hex(s);
}

void Run::Stage(const uint8_t* data, size_t size, std::vector<Lane>& lanes) {
  total += size;
  if (pending > 0) {
    const size_t take = std::min(size, kBlock - pending);
    if (take > 0) std::memcpy(buffer + pending, data, take);
    pending += take;
    data += take;
    size -= take;
    if (pending < kBlock) return;
    CompressOne(state, buffer, 1);
    pending = 0;
  }
  if (const size_t whole = size / kBlock; whole > 0) {
    lanes.push_back({&state, data, whole});
    data += whole * kBlock;
    size -= whole * kBlock;
  }
  if (size > 0) std::memcpy(buffer, data, size);
  pending = size;
}

std::vector<std::string> HexDigests(const std::vector<std::string_view>& buffers) {
  std::vector<std::string> out(buffers.size());
  if (!HaveLanes()) {
    for (size_t i = 0; i < buffers.size(); ++i) out[i] = OpensslHex(buffers[i]);
    return out;
  }
  // Slots take buffers in turn; each call runs the fewest blocks any live slot has left,
  // so a slot that empties is refilled at once.
  struct Slot {
    size_t index = 0;
    State state;
    size_t offset = 0;  // bytes compressed
  };
  std::vector<Slot> slots;
  size_t next = 0;
  while (next < buffers.size() || !slots.empty()) {
    while (slots.size() < kLanes && next < buffers.size()) slots.push_back(Slot{next++, State{}, 0});
    Lane lanes[kLanes];
    size_t fewest = SIZE_MAX;
    for (const Slot& s : slots) fewest = std::min(fewest, (buffers[s.index].size() - s.offset) / kBlock);
    for (size_t l = 0; l < slots.size() && fewest > 0; ++l) {
      Slot& s = slots[l];
      lanes[l] = {&s.state, reinterpret_cast<const uint8_t*>(buffers[s.index].data()) + s.offset, fewest};
      s.offset += fewest * kBlock;
    }
    if (fewest > 0) Compress(lanes, static_cast<int>(slots.size()));
    // Slots with less than a block left end here (their tail padded on its own).
    for (size_t l = 0; l < slots.size();) {
      Slot& s = slots[l];
      const std::string_view b = buffers[s.index];
      if (b.size() - s.offset >= kBlock) {
        ++l;
        continue;
      }
      out[s.index] = Finish(s.state, reinterpret_cast<const uint8_t*>(b.data()) + s.offset, b.size() - s.offset,
                            b.size());
      slots[l] = std::move(slots.back());
      slots.pop_back();
    }
  }
  return out;
}

}  // namespace riptide::engine::md5
