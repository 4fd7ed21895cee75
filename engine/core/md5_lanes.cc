#include "engine/core/md5_lanes.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <utility>

#include "engine/core/md5_kernels.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "MD5 words are read as little-endian");

namespace riptide::engine::md5 {
namespace {

using detail::kK;
using detail::kS;
using detail::MessageIndex;

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

}  // namespace

Kernel BestKernel() {
#if defined(__x86_64__)
  static const Kernel best = __builtin_cpu_supports("avx512f") ? Kernel::kAvx512
                             : __builtin_cpu_supports("avx2") ? Kernel::kAvx2
                                                              : Kernel::kPortable;
  return best;
#else
  return Kernel::kPortable;
#endif
}

bool Runs(Kernel k) { return k <= BestKernel(); }

bool HaveLanes() { return BestKernel() != Kernel::kPortable; }

int Width(Kernel k) { return k == Kernel::kAvx512 ? 16 : k == Kernel::kAvx2 ? 8 : 1; }

const char* KernelName(Kernel k) {
  switch (k) {
    case Kernel::kAvx512:
      return "16 streams in AVX-512 lanes";
    case Kernel::kAvx2:
      return "8 streams in AVX2 lanes";
    case Kernel::kPortable:
      break;
  }
  return "portable, one stream at a time";
}

namespace {

// One step of one stream, unrolled by the compiler like the lanes' steps.
template <int I>
[[gnu::always_inline]] inline void OneStep(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, const uint32_t m[16]) {
  // The constant and message word are added first: they do not wait on b, c, d.
  const uint32_t early = a + kK[I] + m[MessageIndex(I)];
  uint32_t sum;
  if constexpr (I < 16) {
    sum = early + (d ^ (b & (c ^ d)));
  } else if constexpr (I < 32) {
    sum = early + (c & ~d) + (b & d);  // G's two terms never share a bit: + is |
  } else if constexpr (I < 48) {
    sum = early + (b ^ c ^ d);
  } else {
    sum = early + (c ^ (b | ~d));
  }
  const uint32_t t = b + Rol(sum, kS[I]);
  a = d;
  d = c;
  c = b;
  b = t;
}

template <size_t... I>
[[gnu::always_inline]] inline void OneSteps(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, const uint32_t m[16],
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

namespace {

// N streams of `blocks` blocks each, step by step side by side: one stream's 64 steps are
// a chain that leaves most of the core's ALUs idle; N chains fill them.
template <int N>
[[gnu::flatten]] void CompressSideBySide(Lane* lanes, size_t blocks) {
  for (size_t j = 0; j < blocks; ++j) {
    uint32_t m[N][16], a[N], b[N], c[N], d[N];
    for (int s = 0; s < N; ++s) {
      std::memcpy(m[s], lanes[s].data + j * kBlock, kBlock);
      a[s] = lanes[s].state->h[0];
      b[s] = lanes[s].state->h[1];
      c[s] = lanes[s].state->h[2];
      d[s] = lanes[s].state->h[3];
    }
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((
           [&] {
#pragma GCC unroll 4
             for (int s = 0; s < N; ++s) OneStep<static_cast<int>(I)>(a[s], b[s], c[s], d[s], m[s]);
           }()),
       ...);
    }(std::make_index_sequence<64>());
    for (int s = 0; s < N; ++s) {
      lanes[s].state->h[0] += a[s];
      lanes[s].state->h[1] += b[s];
      lanes[s].state->h[2] += c[s];
      lanes[s].state->h[3] += d[s];
    }
  }
}

}  // namespace

void CompressScalar(Lane* lanes, int n) {
  constexpr int kSideBySide = 3;
  for (int first = 0; first < n; first += kSideBySide) {
    Lane group[kSideBySide];
    int g = std::min(n - first, kSideBySide);
    std::copy(lanes + first, lanes + first + g, group);
    while (g > 0) {
      size_t common = SIZE_MAX;
      for (int s = 0; s < g; ++s) common = std::min(common, group[s].blocks);
      if (g == 3) CompressSideBySide<3>(group, common);
      if (g == 2) CompressSideBySide<2>(group, common);
      if (g == 1) CompressOne(*group[0].state, group[0].data, common);
      int left = 0;
      for (int s = 0; s < g; ++s) {
        if (group[s].blocks == common) continue;
        group[left] = group[s];
        group[left].data += common * kBlock;
        group[left].blocks -= common;
        ++left;
      }
      g = left;
    }
  }
}

void Compress(Lane* lanes, int n, Kernel k) {
  // A kernel call costs the same however few of its lanes are busy: up to three streams
  // go faster side by side in scalar code (hash_speed: 3 streams 0.92 GB/s, 3 of AVX2's 8
  // lanes 0.78).
  constexpr int kFewestForLanes = 4;
  const int width = Runs(k) ? Width(k) : 1;
  for (int i = 0; i < n; i += width) {
    const int m = std::min(n - i, width);
#if defined(__x86_64__)
    if (m >= kFewestForLanes && (k == Kernel::kAvx512 || k == Kernel::kAvx2)) {
      // The kernel runs as long as its longest lane. Past the kFewestForLanes-th longest
      // fewer lanes than that are busy, and their rest (at most three) goes to scalar code.
      std::array<size_t, kLanes> lengths{};
      for (int l = 0; l < m; ++l) lengths[static_cast<size_t>(l)] = lanes[i + l].blocks;
      std::nth_element(lengths.begin(), lengths.begin() + (kFewestForLanes - 1), lengths.begin() + m,
                       std::greater<>());
      const size_t busy = lengths[kFewestForLanes - 1];
      Lane head[kLanes];
      Lane rest[kFewestForLanes - 1];
      int left = 0;
      for (int l = 0; l < m; ++l) {
        head[l] = lanes[i + l];
        if (head[l].blocks <= busy) continue;
        rest[left] = {head[l].state, head[l].data + busy * kBlock, head[l].blocks - busy};
        head[l].blocks = busy;
        ++left;
      }
      if (k == Kernel::kAvx512) {
        detail::Compress16(head, m);
      } else {
        detail::Compress8(head, m);
      }
      CompressScalar(rest, left);
      continue;
    }
#endif
    CompressScalar(lanes + i, m);
  }
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
  if (Lane lane = Take(data, size); lane.blocks > 0) lanes.push_back(lane);
}

void Run::Update(const uint8_t* data, size_t size) {
  if (Lane lane = Take(data, size); lane.blocks > 0) CompressOne(state, lane.data, lane.blocks);
}

Lane Run::Take(const uint8_t* data, size_t size) {
  Lane lane{&state, data, 0};
  total += size;
  if (pending > 0) {
    const size_t take = std::min(size, kBlock - pending);
    if (take > 0) std::memcpy(buffer + pending, data, take);
    pending += take;
    data += take;
    size -= take;
    if (pending < kBlock) return lane;
    CompressOne(state, buffer, 1);
    pending = 0;
  }
  lane.data = data;
  lane.blocks = size / kBlock;
  data += lane.blocks * kBlock;
  size -= lane.blocks * kBlock;
  if (size > 0) std::memcpy(buffer, data, size);
  pending = size;
  return lane;
}

std::vector<std::string> HexDigests(const std::vector<std::string_view>& buffers, Kernel k) {
  std::vector<std::string> out(buffers.size());
  if (k == Kernel::kPortable || !Runs(k)) {
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
    if (fewest > 0) Compress(lanes, static_cast<int>(slots.size()), k);
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
