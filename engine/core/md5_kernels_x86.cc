// The MD5 compression of 16 streams in the lanes of an AVX-512 register, and of 8 in an
// AVX2 one: the message words of every lane's block transposed into one register per
// word, then the 64 steps once for all lanes. Each function is compiled for its own
// instruction set (target attributes), so the rest of riptide builds for any x86-64 and
// md5_lanes.cc picks the widest kernel the CPU runs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "engine/core/md5_kernels.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*(), which its
// own -Wmaybe-uninitialized (at -O2) and -Wuninitialized (at -Og) then report inside the
// headers (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

namespace riptide::engine::md5::detail {
namespace {

// The lanes' chaining words laid out word by word (words[w][lane]), as the registers hold
// them; returns the most blocks any lane has.
template <int W>
size_t GatherStates(const Lane* lanes, int n, uint32_t (&words)[4][W]) {
  size_t most = 0;
  for (int l = 0; l < n; ++l) {
    for (int w = 0; w < 4; ++w) words[w][l] = lanes[l].state->h[w];
    most = std::max(most, lanes[l].blocks);
  }
  return most;
}

template <int W>
void ScatterStates(Lane* lanes, int n, const uint32_t (&words)[4][W]) {
  for (int l = 0; l < n; ++l) {
    for (int w = 0; w < 4; ++w) lanes[l].state->h[w] = words[w][l];
  }
}

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

}  // namespace

RIPTIDE_AVX512 void Compress16(Lane* lanes, int n) {
  alignas(64) static const uint8_t kIdle[kBlock] = {};
  alignas(64) uint32_t words[4][16] = {};
  const size_t most = GatherStates(lanes, n, words);
  __m512i h[4];
  for (int w = 0; w < 4; ++w) h[w] = _mm512_load_si512(words[w]);
  for (size_t j = 0; j < most; ++j) {
    __mmask16 active = 0;
    __m512i m[16];
    for (int l = 0; l < 16; ++l) {
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
  ScatterStates(lanes, n, words);
}


namespace {

#define RIPTIDE_AVX2 __attribute__((target("avx2")))

// Eight rows of eight words (one lane's half block each) turned into eight registers of
// one word for all lanes: pairs, then quads, then the 128-bit halves exchanged.
RIPTIDE_AVX2 inline void Transpose8(__m256i r[8]) {
  __m256i t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int w = 0; w < 4; ++w) {
    r[w] = _mm256_permute2x128_si256(u[w], u[4 + w], 0x20);
    r[4 + w] = _mm256_permute2x128_si256(u[w], u[4 + w], 0x31);
  }
}

// AVX2 has no ternary logic: F = d^(b&(c^d)), G = c^(d&(b^c)), H = b^c^d, I = c^(b|~d).
template <int I>
RIPTIDE_AVX2 inline void Step8(__m256i& a, __m256i& b, __m256i& c, __m256i& d, const __m256i m[16]) {
  __m256i f;
  if constexpr (I < 16) {
    f = _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)));
  } else if constexpr (I < 32) {
    f = _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)));
  } else if constexpr (I < 48) {
    f = _mm256_xor_si256(_mm256_xor_si256(b, c), d);
  } else {
    f = _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))));
  }
  __m256i t = _mm256_add_epi32(_mm256_add_epi32(a, f),
                               _mm256_add_epi32(m[MessageIndex(I)], _mm256_set1_epi32(static_cast<int>(kK[I]))));
  t = _mm256_or_si256(_mm256_slli_epi32(t, kS[I]), _mm256_srli_epi32(t, 32 - kS[I]));
  t = _mm256_add_epi32(b, t);
  a = d;
  d = c;
  c = b;
  b = t;
}

template <size_t... I>
RIPTIDE_AVX2 inline void Steps8(__m256i& a, __m256i& b, __m256i& c, __m256i& d, const __m256i m[16],
                                std::index_sequence<I...>) {
  (Step8<static_cast<int>(I)>(a, b, c, d, m), ...);
}

}  // namespace

RIPTIDE_AVX2 void Compress8(Lane* lanes, int n) {
  alignas(32) static const uint8_t kIdle[kBlock] = {};
  alignas(32) uint32_t words[4][8] = {};
  const size_t most = GatherStates(lanes, n, words);
  __m256i h[4];
  for (int w = 0; w < 4; ++w) h[w] = _mm256_load_si256(reinterpret_cast<const __m256i*>(words[w]));
  for (size_t j = 0; j < most; ++j) {
    alignas(32) int32_t live[8];
    __m256i m[16];
    for (int l = 0; l < 8; ++l) {
      const bool on = l < n && j < lanes[l].blocks;
      live[l] = on ? -1 : 0;
      const uint8_t* p = on ? lanes[l].data + j * kBlock : kIdle;
      m[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));            // words 0-7
      m[8 + l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));  // words 8-15
    }
    Transpose8(m);
    Transpose8(m + 8);
    __m256i a = h[0], b = h[1], c = h[2], d = h[3];
    Steps8(a, b, c, d, m, std::make_index_sequence<64>());
    // A lane past its last block keeps its state: the sums are blended in where live.
    const __m256i on = _mm256_load_si256(reinterpret_cast<const __m256i*>(live));
    h[0] = _mm256_blendv_epi8(h[0], _mm256_add_epi32(h[0], a), on);
    h[1] = _mm256_blendv_epi8(h[1], _mm256_add_epi32(h[1], b), on);
    h[2] = _mm256_blendv_epi8(h[2], _mm256_add_epi32(h[2], c), on);
    h[3] = _mm256_blendv_epi8(h[3], _mm256_add_epi32(h[3], d), on);
  }
  for (int w = 0; w < 4; ++w) _mm256_store_si256(reinterpret_cast<__m256i*>(words[w]), h[w]);
  ScatterStates(lanes, n, words);
}

}  // namespace riptide::engine::md5::detail

#endif
