#include "engine/core/hashing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/random_bytes.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

std::string Bytes(size_t n) { return riptide::testing::RandomBytes(n, 7); }

// More parts than lanes, the last one short, a zero-length one: the composite ETag of
// the parts' MD5s; a file that ends inside its parts has none.
TEST(DigestFile, PartsInLanesGiveTheCompositeEtag) {
  const std::string data = Bytes(40 * 70001 + 123);
  const std::string path = (std::filesystem::temp_directory_path() / "riptide-parts-test").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  std::vector<uint64_t> parts(40, 70001);
  parts[7] = 0;
  parts.push_back(70001 + 123);
  std::vector<std::string> md5s;
  uint64_t at = 0;
  for (uint64_t len : parts) {
    md5s.push_back(s3::Md5Hex(data.substr(at, len)));
    at += len;
  }
  ASSERT_EQ(at, data.size());
  auto digest = DigestFile(fd, false, parts, "CRC32C");
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->parts_etag, s3::CompositeEtag(md5s));
  EXPECT_EQ(digest->size, data.size());
  parts.push_back(1);  // one byte more than the file holds
  auto short_file = DigestFile(fd, false, parts);
  ASSERT_TRUE(short_file.ok());
  EXPECT_EQ(short_file->parts_etag, "");
  ::close(fd);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace riptide::engine
