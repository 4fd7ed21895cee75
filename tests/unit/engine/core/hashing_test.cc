#include "engine/core/hashing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <filesystem>

#include "tests/support/random_bytes.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

std::string Bytes(size_t n) { return riptide::testing::RandomBytes(n, 7); }

// The manifest's XXH3-128, fed in uneven pieces through whichever loop the CPU runs
// (riptide calls libxxhash's run-time dispatch), is the value of the library's portable
// one-shot entry point, at every length class XXH3 treats apart (0, 1-16, 17-128,
// 129-240, then stripes and blocks). The empty input's is XXH3's published one.
TEST(DigestState, Xxh3IsThePortableValueHoweverItIsFed) {
  for (size_t n : {0u, 1u, 3u, 16u, 17u, 128u, 129u, 240u, 241u, 1024u, 65537u, (1u << 20) + 333u}) {
    const std::string data = Bytes(n);
    DigestState state(false, {});
    size_t at = 0;
    for (size_t piece = 1; at < n; piece = piece * 3 + 1) {
      const size_t take = std::min(piece, n - at);
      state.Update(data.data() + at, take);
      at += take;
    }
    const XXH128_hash_t want = XXH3_128bits(data.data(), data.size());
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(want.high64),
                  static_cast<unsigned long long>(want.low64));
    EXPECT_EQ(state.Finish().xxh3, hex) << n;
  }
  DigestState empty(false, {});
  EXPECT_EQ(empty.Finish().xxh3, "99aa06d3014798d86001c324468d497f");
}

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
