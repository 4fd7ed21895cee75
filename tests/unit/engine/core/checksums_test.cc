// The additional checksums against their published check values ("123456789").
#include "engine/core/checksums.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "engine/core/crc_kernels.h"
#include "tests/support/random_bytes.h"

namespace riptide::engine {
namespace {

constexpr char kCheck[] = "123456789";

TEST(Checksums, CheckValues) {
  EXPECT_EQ(Crc32c(0, kCheck, 9), 0xE3069283u);
  EXPECT_EQ(Crc64Nvme(0, kCheck, 9), 0xAE8B14860A799888ull);
  // Incremental updates give the same value.
  EXPECT_EQ(Crc32c(Crc32c(0, kCheck, 4), kCheck + 4, 5), 0xE3069283u);
}

std::string Sum(const char* algorithm, std::string_view data) {
  auto c = Checksum::Make(algorithm);
  c->Update(data.data(), data.size());
  return c->FinishBase64();
}

TEST(Checksums, HeaderText) {
  // As S3 sends them for "hello world" (CRC32, SHA-1, SHA-256 seen from moto).
  EXPECT_EQ(Sum("CRC32", "hello world"), "DUoRhQ==");
  EXPECT_EQ(Sum("SHA1", "hello world"), "Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
  EXPECT_EQ(Sum("SHA256", "hello world"), "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=");
  EXPECT_EQ(Sum("CRC32C", kCheck), "4waSgw==");  // 0xE3069283 big-endian
  EXPECT_EQ(Checksum::Make("MD5"), nullptr);
}

using riptide::testing::RandomBytes;

// The accelerated kernels give the table's answer for every length around their block
// sizes (16, 64 bytes), at every alignment, from any starting register.
TEST(Checksums, AcceleratedKernelsAgreeWithTheTable) {
  if (!crc::HaveCarrylessMultiply() || !crc::HaveCrc32cInstruction()) {
    GTEST_SKIP() << "this CPU lacks PCLMULQDQ or SSE4.2: the table kernels run instead";
  }
  const std::string data = RandomBytes(4096 + 64, 17);
  std::mt19937_64 rng(5);
  for (size_t n = 0; n <= 600; ++n) {
    for (size_t align = 0; align < 16; align += (n < 200 ? 1 : 5)) {
      const uint64_t raw64 = rng();
      const uint32_t raw32 = static_cast<uint32_t>(rng());
      const char* p = data.data() + align;
      ASSERT_EQ(crc::Crc64NvmeFolded(raw64, p, n), crc::Crc64NvmeTable(raw64, p, n)) << n << " at +" << align;
      ASSERT_EQ(crc::Crc32cHardware(raw32, p, n), crc::Crc32cTable(raw32, p, n)) << n << " at +" << align;
    }
  }
  for (size_t n : {1023u, 1024u, 1025u, 4095u, 4096u}) {
    EXPECT_EQ(crc::Crc64NvmeFolded(0, data.data(), n), crc::Crc64NvmeTable(0, data.data(), n)) << n;
  }
}

// Large random buffers fed whole and in random pieces give one value.
TEST(Checksums, PiecesGiveTheWholeValue) {
  const std::string data = RandomBytes(1 << 20, 99);
  const uint64_t whole64 = Crc64Nvme(0, data.data(), data.size());
  const uint32_t whole32 = Crc32c(0, data.data(), data.size());
  EXPECT_EQ(whole64, ~crc::Crc64NvmeTable(~0ull, data.data(), data.size()));
  EXPECT_EQ(whole32, ~crc::Crc32cTable(~0u, data.data(), data.size()));
  std::mt19937 rng(3);
  uint64_t c64 = 0;
  uint32_t c32 = 0;
  for (size_t at = 0; at < data.size();) {
    const size_t n = std::min<size_t>(data.size() - at, rng() % 5000);
    c64 = Crc64Nvme(c64, data.data() + at, n);
    c32 = Crc32c(c32, data.data() + at, n);
    at += n;
  }
  EXPECT_EQ(c64, whole64);
  EXPECT_EQ(c32, whole32);
}

// Parts summed apart and joined in order give the whole value, whatever their lengths.
TEST(Checksums, PartsJoinIntoTheWholeCrc64) {
  const std::string data = RandomBytes(3 << 20, 7);
  const uint64_t whole = Crc64Nvme(0, data.data(), data.size());
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    uint64_t joined = 0;
    for (size_t at = 0; at < data.size();) {
      const size_t n = std::min<size_t>(data.size() - at, round == 0 ? 5 << 20 : rng() % (round * 40000));
      joined = Crc64NvmeCombine(joined, Crc64Nvme(0, data.data() + at, n), n);
      at += n;
    }
    ASSERT_EQ(joined, whole) << "round " << round;
  }
  const uint64_t a = Crc64Nvme(0, "abc", 3);
  EXPECT_EQ(Crc64NvmeCombine(a, 0, 0), a);  // nothing after
  EXPECT_EQ(Crc64NvmeCombine(0, a, 3), a);  // nothing before
  EXPECT_EQ(Crc64NvmeCombine(Crc64Nvme(0, "1234", 4), Crc64Nvme(0, "56789", 5), 5), 0xAE8B14860A799888ull);
}

}  // namespace
}  // namespace riptide::engine
