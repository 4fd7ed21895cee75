// The MD5 lanes against OpenSSL, for each kernel (portable, AVX2, AVX-512; one this CPU
// lacks is a visible skip): every length around the padding boundaries, uneven lanes,
// more buffers than lanes, and the portable compression every kernel falls back to.
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

class Md5Kernel : public ::testing::TestWithParam<Kernel> {
 protected:
  void SetUp() override {
    if (!Runs(GetParam())) GTEST_SKIP() << "this CPU does not run " << KernelName(GetParam());
  }
};

TEST_P(Md5Kernel, EveryLengthAroundTheBlocksMatchesOpenssl) {
  const std::string data = RandomBytes(700, 1);
  std::vector<std::string_view> buffers;
  for (size_t n = 0; n <= 300; ++n) buffers.emplace_back(data.data() + n % 7, n);
  const std::vector<std::string> got = HexDigests(buffers, GetParam());
  for (size_t i = 0; i < buffers.size(); ++i) ASSERT_EQ(got[i], OpensslMd5(buffers[i])) << "length " << i;
  EXPECT_EQ(HexDigests({std::string_view()}, GetParam())[0], "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_P(Md5Kernel, UnevenBuffersMoreThanLanes) {
  std::mt19937 rng(7);
  std::vector<std::string> owned;
  for (int i = 0; i < 53; ++i) owned.push_back(RandomBytes(rng() % (i % 5 == 0 ? 300000 : 5000), i));
  std::vector<std::string_view> buffers(owned.begin(), owned.end());
  const std::vector<std::string> got = HexDigests(buffers, GetParam());
  for (size_t i = 0; i < owned.size(); ++i) EXPECT_EQ(got[i], OpensslMd5(owned[i])) << i;
}

TEST_P(Md5Kernel, LanesOfDifferentLengthsAdvanceEachItsOwn) {
  // From one lane to 19: a kernel call partly idle, more than one call, and the few
  // streams left over that go side by side in scalar code instead.
  constexpr int kMost = 19;
  const std::string data = RandomBytes(64 * 50, 3);
  for (int count = 1; count <= kMost; ++count) {
    State lane_states[kMost], one_states[kMost];
    Lane lanes[kMost];
    for (int l = 0; l < count; ++l) {
      const size_t blocks = static_cast<size_t>((l + count) * 37 % 23);
      const auto* p = reinterpret_cast<const uint8_t*>(data.data()) + 64 * l;
      lanes[l] = {&lane_states[l], p, blocks};
      CompressOne(one_states[l], p, blocks);
    }
    Compress(lanes, count, GetParam());
    for (int l = 0; l < count; ++l) {
      for (int w = 0; w < 4; ++w) {
        EXPECT_EQ(lane_states[l].h[w], one_states[l].h[w]) << count << " lanes: " << l << " word " << w;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, Md5Kernel, ::testing::Values(Kernel::kPortable, Kernel::kAvx2, Kernel::kAvx512),
                         [](const ::testing::TestParamInfo<Kernel>& info) {
                           return std::string(info.param == Kernel::kAvx512 ? "Avx512"
                                              : info.param == Kernel::kAvx2 ? "Avx2"
                                                                            : "Portable");
                         });

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
