// The additional checksums against their published check values ("123456789").
#include "engine/core/checksums.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace riptide::engine
