// MD5 of many independent streams at once. One MD5 stream is sequential (~0.6 GB/s a
// core), but riptide hashes many objects and parts at the same time: with AVX-512 the
// compression function runs 16 streams in the 16 32-bit lanes of a register, each
// step one instruction for all of them; with AVX2, 8. Elsewhere the same calls run one
// stream at a time in portable code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace riptide::engine::md5 {

constexpr int kLanes = 16;
constexpr size_t kBlock = 64;

/// The four chaining words of one stream.
struct State {
  uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
};

/// One stream's work for a call: `blocks` whole 64-byte blocks at `data`.
struct Lane {
  State* state = nullptr;
  const uint8_t* data = nullptr;
  size_t blocks = 0;
};

/// How lanes are compressed: one stream at a time in portable code, 8 streams in the
/// lanes of an AVX2 register, or 16 in an AVX-512 one.
enum class Kernel { kPortable, kAvx2, kAvx512 };

/// The widest kernel this CPU runs (decided once).
Kernel BestKernel();
/// Whether this CPU runs `k` (every narrower kernel runs where a wider one does).
bool Runs(Kernel k);
/// Whether a lane kernel runs here (AVX2 or AVX-512F).
bool HaveLanes();
/// How many streams one call of `k` advances at once: 1, 8 or 16.
int Width(Kernel k = BestKernel());
/// "8 streams in AVX2 lanes", for benchmarks.
const char* KernelName(Kernel k);

/// Advances each of `lanes` by its blocks; lanes may differ in length. A kernel this CPU
/// does not run falls back to the portable code.
void Compress(Lane* lanes, int n, Kernel k = BestKernel());

/// The portable compression of one stream (the reference for the lanes).
void CompressOne(State& state, const uint8_t* data, size_t blocks);
/// Portable too, but up to three streams' steps side by side (their chains overlap).
void CompressScalar(Lane* lanes, int n);

/// Hashes every buffer, 16 at a time in lanes where the CPU allows (OpenSSL, one at a
/// time, under kPortable); lowercase hex digests.
std::vector<std::string> HexDigests(const std::vector<std::string_view>& buffers, Kernel k = BestKernel());

/// Ends a stream: its last `tail_size` (< 64) bytes at `tail`, `total` bytes in all
/// (the whole blocks already compressed into `state`); the lowercase hex digest.
std::string Finish(State state, const uint8_t* tail, size_t tail_size, uint64_t total);
std::array<uint8_t, 16> FinishRaw(State state, const uint8_t* tail, size_t tail_size, uint64_t total);

/// A stream whose whole blocks may be compressed in lanes beside other streams: Stage
/// buffers a partial block and hands out (at most) one lane for the rest.
struct Run {
  State state;
  uint8_t buffer[kBlock];
  size_t pending = 0;  // bytes in `buffer`
  uint64_t total = 0;  // bytes staged
  /// The lane it adds points into `data`: compress it before `data` goes or the next Stage.
  void Stage(const uint8_t* data, size_t size, std::vector<Lane>& lanes);
  /// Stage and compress at once, one stream alone.
  void Update(const uint8_t* data, size_t size);
  std::array<uint8_t, 16> Digest() const { return FinishRaw(state, buffer, pending, total); }

 private:
  /// Buffers what is not a whole block; the lane for the whole blocks (maybe none).
  Lane Take(const uint8_t* data, size_t size);
};

}  // namespace riptide::engine::md5
