// Digest speed on one core: GB/s of each proof riptide can compute, on a 1 MiB buffer
// (warm in cache, as bytes are when hashed on arrival) hashed again and again for
// about half a second each. Prints one row a digest, then the read-back of a file in the
// page cache: an md5-N verify, and a hash round's two ways of reading (mapped, copied).
//   build/hash_speed [--seconds S]
#include <openssl/evp.h>
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#define RIPTIDE_XXH3_DISPATCH 1
#endif

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "engine/core/checksums.h"
#include "engine/core/crc_kernels.h"
#include "engine/core/hashing.h"
#include "engine/core/md5_lanes.h"

namespace {

using riptide::engine::crc::Crc32cHardware;
using riptide::engine::crc::Crc32cTable;
using riptide::engine::crc::Crc64NvmeFolded;
using riptide::engine::crc::Crc64NvmeTable;

volatile uint64_t sink;

// `fn` hashes the buffer (and returns something to keep) or, for the lanes, 16 slices
// of it as 16 streams: either way the buffer's size in bytes.
double Measure(const std::string& buf, double seconds, const std::function<uint64_t(const std::string&)>& fn) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  uint64_t bytes = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    sink = sink + fn(buf);
    bytes += buf.size();
  }
  return bytes / std::chrono::duration<double>(Clock::now() - start).count() / 1e9;
}

uint64_t Evp(const EVP_MD* md, const std::string& b) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(b.data(), b.size(), out, &len, md, nullptr);
  return out[0];
}

// 16 slices of the buffer hashed side by side with kernel `k`.
uint64_t Md5Lanes(const std::string& b, riptide::engine::md5::Kernel k) {
  std::vector<std::string_view> slices;
  for (size_t i = 0; i < 16; ++i) slices.emplace_back(b.data() + i * (b.size() / 16), b.size() / 16);
  return uint64_t{static_cast<uint8_t>(riptide::engine::md5::HexDigests(slices, k)[0][0])};
}

// `n` streams, each an nth of `b`, advanced by one call: of `k`'s lanes, or side by side.
std::vector<riptide::engine::md5::Lane> Slices(const std::string& b, int n,
                                              std::vector<riptide::engine::md5::State>& states) {
  states.assign(n, {});
  std::vector<riptide::engine::md5::Lane> lanes;
  const size_t blocks = b.size() / n / 64;
  for (int i = 0; i < n; ++i) {
    lanes.push_back({&states[i], reinterpret_cast<const uint8_t*>(b.data()) + i * blocks * 64, blocks});
  }
  return lanes;
}

uint64_t Md5Lanes(const std::string& b, riptide::engine::md5::Kernel k, int n) {
  std::vector<riptide::engine::md5::State> states;
  auto lanes = Slices(b, n, states);
  riptide::engine::md5::Compress(lanes.data(), n, k);
  return states[0].h[0];
}

// Rounds are uneven: one stream with half of `b` beside four with an eighth each.
uint64_t Md5Uneven(const std::string& b, riptide::engine::md5::Kernel k) {
  std::vector<riptide::engine::md5::State> states(5);
  std::vector<riptide::engine::md5::Lane> lanes;
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  const size_t eighth = b.size() / 8 / 64;
  lanes.push_back({&states[0], p, 4 * eighth});
  for (size_t i = 1; i < 5; ++i) lanes.push_back({&states[i], p + (3 + i) * eighth * 64, eighth});
  riptide::engine::md5::Compress(lanes.data(), 5, k);
  return states[0].h[0];
}

uint64_t Md5Scalar(const std::string& b, int n) {
  std::vector<riptide::engine::md5::State> states;
  auto lanes = Slices(b, n, states);
  riptide::engine::md5::CompressScalar(lanes.data(), n);
  return states[0].h[0];
}

// How hash rounds read a landed file back (the first 256 MiB of `fd`, in the page cache):
// a MiB mapped at a time, or copied a quarter MiB at a time into a buffer that stays in
// cache (what they do); XXH3 over each. GB/s, 0 when the file cannot be read.
double ReadBackRate(int fd, bool mapped, double seconds) {
  std::string slice(256 << 10, '\0');
  const auto start = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  do {
    for (off_t at = 0; at < off_t{256} << 20; at += 1 << 20) {
      if (mapped) {
        void* p = ::mmap(nullptr, 1 << 20, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, at);
        if (p == MAP_FAILED) return 0.0;
        sink = sink + XXH3_128bits(p, 1 << 20).low64;
        ::munmap(p, 1 << 20);
      } else {
        for (off_t s = 0; s < 1 << 20; s += 256 << 10) {
          if (::pread(fd, slice.data(), slice.size(), at + s) != static_cast<ssize_t>(slice.size())) return 0.0;
          sink = sink + XXH3_128bits(slice.data(), slice.size()).low64;
        }
      }
      bytes += 1 << 20;
    }
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 4 * seconds);
  return bytes / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  if (argc == 3 && std::strcmp(argv[1], "--seconds") == 0) seconds = std::atof(argv[2]);
  std::string buf(1 << 20, '\0');
  std::mt19937 rng(1);
  for (char& c : buf) c = static_cast<char>(rng());
  const bool clmul = riptide::engine::crc::HaveCarrylessMultiply();
  const bool sse42 = riptide::engine::crc::HaveCrc32cInstruction();
  struct Row {
    const char* name;
    bool available;
    std::function<uint64_t(const std::string&)> fn;
  } rows[] = {
      {"MD5 (OpenSSL)", true, [](const std::string& b) { return Evp(EVP_md5(), b); }},
      {"MD5, portable, one stream", true,
       [](const std::string& b) {
         riptide::engine::md5::State st;
         riptide::engine::md5::CompressOne(st, reinterpret_cast<const uint8_t*>(b.data()), b.size() / 64);
         return uint64_t{st.h[0]};
       }},
      {"MD5, 2 streams side by side", true, [](const std::string& b) { return Md5Scalar(b, 2); }},
      {"MD5, 3 streams side by side", true, [](const std::string& b) { return Md5Scalar(b, 3); }},
      {"MD5, AVX2 lanes, 2 of 8 busy", riptide::engine::md5::Runs(riptide::engine::md5::Kernel::kAvx2),
       [](const std::string& b) { return Md5Lanes(b, riptide::engine::md5::Kernel::kAvx2, 2); }},
      {"MD5, AVX2 lanes, 3 of 8 busy", riptide::engine::md5::Runs(riptide::engine::md5::Kernel::kAvx2),
       [](const std::string& b) { return Md5Lanes(b, riptide::engine::md5::Kernel::kAvx2, 3); }},
      {"MD5, AVX2 lanes, 4 of 8 busy", riptide::engine::md5::Runs(riptide::engine::md5::Kernel::kAvx2),
       [](const std::string& b) { return Md5Lanes(b, riptide::engine::md5::Kernel::kAvx2, 4); }},
      {"MD5, AVX2, 1 long + 4 short", riptide::engine::md5::Runs(riptide::engine::md5::Kernel::kAvx2),
       [](const std::string& b) { return Md5Uneven(b, riptide::engine::md5::Kernel::kAvx2); }},
      {"MD5, 8 streams in AVX2 lanes", riptide::engine::md5::Runs(riptide::engine::md5::Kernel::kAvx2),
       [](const std::string& b) { return Md5Lanes(b, riptide::engine::md5::Kernel::kAvx2); }},
      {"MD5, 16 streams in AVX-512 lanes", riptide::engine::md5::Runs(riptide::engine::md5::Kernel::kAvx512),
       [](const std::string& b) { return Md5Lanes(b, riptide::engine::md5::Kernel::kAvx512); }},
      {"SHA-256 (OpenSSL)", true, [](const std::string& b) { return Evp(EVP_sha256(), b); }},
      {"XXH3-128", true, [](const std::string& b) { return XXH3_128bits(b.data(), b.size()).low64; }},
#if RIPTIDE_XXH3_DISPATCH
      {"XXH3-128, dispatched", true,
       [](const std::string& b) { return XXH3_128bits_dispatch(b.data(), b.size()).low64; }},
#endif
      {"CRC32C, byte table", true, [](const std::string& b) { return Crc32cTable(0, b.data(), b.size()); }},
      {"CRC32C, SSE4.2 crc32", sse42, [](const std::string& b) { return Crc32cHardware(0, b.data(), b.size()); }},
      {"CRC64NVME, byte table", true, [](const std::string& b) { return Crc64NvmeTable(0, b.data(), b.size()); }},
      {"CRC64NVME, PCLMULQDQ folding", clmul,
       [](const std::string& b) { return Crc64NvmeFolded(0, b.data(), b.size()); }},
  };
  std::printf("%-30s %10s\n", "digest (one core)", "GB/s");
  for (const Row& r : rows) {
    if (!r.available) {
      std::printf("%-30s %10s\n", r.name, "(no CPU support)");
      continue;
    }
    std::printf("%-30s %10.2f\n", r.name, Measure(buf, seconds, r.fn));
    std::fflush(stdout);
  }
  // What verify does for an object with an md5-N ETag: a 256 MiB file of 16 MiB parts,
  // in the page cache, read back and hashed (XXH3 and the parts' MD5s).
  char path[] = "/tmp/riptide-hash-speed-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return 1;
  ::unlink(path);
  for (int i = 0; i < 256; ++i) {
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) return 1;
  }
  const std::vector<uint64_t> parts(16, 16u << 20);
  auto file_rate = [&](bool lanes) {
    const auto start = std::chrono::steady_clock::now();
    int runs = 0;
    do {
      if (lanes) {
        sink = sink + riptide::engine::DigestFile(fd, false, parts)->parts_etag.size();
      } else {
        riptide::engine::DigestState state(false, parts);
        (void)state.UpdateFromFile(fd, 0, UINT64_MAX);
        sink = sink + state.Finish().parts_etag.size();
      }
      ++runs;
    } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 4 * seconds);
    return runs * 256.0 * (1 << 20) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 1e9;
  };
  std::printf("%-30s %10.2f\n", "md5-N file, parts in sequence", file_rate(false));
  std::printf("%-30s %10.2f  (%s)\n", "md5-N file, parts in lanes", file_rate(true),
              riptide::engine::md5::KernelName(riptide::engine::md5::BestKernel()));
  std::printf("%-30s %10.2f\n", "XXH3 of a file, mapped", ReadBackRate(fd, true, seconds));
  std::printf("%-30s %10.2f\n", "XXH3 of a file, copied", ReadBackRate(fd, false, seconds));
  ::close(fd);
  return 0;
}
