// The 16-lane MD5 against OpenSSL: every length around the padding boundaries, uneven
// lanes, more buffers than lanes, and the portable compression it falls back to.
#include "engine/core/md5_lanes.h"

#include <gtest/gtest.h>
#include <random>

#include "tests/support/random_bytes.h"
#include "transport/s3/responses.h"

namespace riptide::engine::md5 {
namespace {

using riptide::testing::RandomBytes;

// OpenSSL's MD5, the reference.
std::string OpensslMd5(std::string_view b) { return s3::Md5Hex(b); }

TEST(Md5Lanes, EveryLengthAroundTheBlocksMatchesOpenssl) {
  const std::string data = RandomBytes(700, 1);
  std::vector<std::string_view> buffers;
  for (size_t n = 0; n <= 300; ++n) buffers.emplace_back(data.data() + n % 7, n);
  const std::vector<std::string> got = HexDigests(buffers);
  for (size_t i = 0; i < buffers.size(); ++i) ASSERT_EQ(got[i], OpensslMd5(buffers[i])) << "length " << i;
  EXPECT_EQ(HexDigests({std::string_view()})[0], "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Md5Lanes, UnevenBuffersMoreThanLanes) {
  std::mt19937 rng(7);
  std::vector<std::string> owned;
  for (int i = 0; i < 53; ++i) owned.push_back(RandomBytes(rng() % (i % 5 == 0 ? 300000 : 5000), i));
  std::vector<std::string_view> buffers(owned.begin(), owned.end());
  const std::vector<std::string> got = HexDigests(buffers);
  for (size_t i = 0; i < owned.size(); ++i) EXPECT_EQ(got[i], OpensslMd5(owned[i])) << i;
}

TEST(Md5Lanes, LanesOfDifferentLengthsAdvanceEachItsOwn) {
  const std::string data = RandomBytes(64 * 40, 3);
  State lane_states[kLanes], one_states[kLanes];
  Lane lanes[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const size_t blocks = static_cast<size_t>(l * 37 % 23);
    const auto* p = reinterpret_cast<const uint8_t*>(data.data()) + 64 * l;
    lanes[l] = {&lane_states[l], p, blocks};
    CompressOne(one_states[l], p, blocks);
  }
  Compress(lanes, kLanes);
  for (int l = 0; l < kLanes; ++l) {
    for (int w = 0; w < 4; ++w) EXPECT_EQ(lane_states[l].h[w], one_states[l].h[w]) << l << " word " << w;
  }
}

TEST(Md5Lanes, FinishPadsLikeOpenssl) {
  const std::string data = RandomBytes(200, 9);
  for (size_t n : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 127u, 128u, 200u}) {
    State s;
    const size_t whole = n / kBlock;
    CompressOne(s, reinterpret_cast<const uint8_t*>(data.data()), whole);
    EXPECT_EQ(Finish(s, reinterpret_cast<const uint8_t*>(data.data()) + whole * kBlock, n % kBlock, n),
              OpensslMd5(std::string_view(data.data(), n)))
        << n;
  }
}

}  // namespace
}  // namespace riptide::engine::md5
