#include "planner/shard_plan.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "engine/config/shard_file.h"

namespace riptide::planner {
namespace {

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%07d", i);
  return buf;
}

TEST(ShardSampler, EqualObjectsSplitEvenlyAndContiguously) {
  ShardSampler s;
  for (int i = 0; i < 1000; ++i) s.Add(Key(i), 0);
  auto ranges = s.Split(4);
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_EQ(ranges.front().after, "");
  EXPECT_EQ(ranges.back().last, "");
  uint64_t total = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(ranges[i].objects), 250, 2) << i;
    if (i > 0) {
      EXPECT_EQ(ranges[i].after, ranges[i - 1].last);
    }
    total += ranges[i].objects;
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_TRUE(ranges[1].Contains(ranges[1].last));
  EXPECT_FALSE(ranges[1].Contains(ranges[1].after));
}

TEST(ShardSampler, BytesWeighAndSamplesStayBounded) {
  ShardSampler s;
  // The first tenth are 64 MiB objects (weight 9 each: half of all the weight), so they
  // get two shards of their own; more keys than samples are kept, so cuts are approximate.
  for (int i = 0; i < 200000; ++i) s.Add(Key(i), i < 20000 ? (64u << 20) : 0);
  auto ranges = s.Split(4);
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_NEAR(static_cast<double>(ranges[0].objects), 10000, 10);
  EXPECT_NEAR(static_cast<double>(ranges[1].objects), 10000, 10);
  EXPECT_NEAR(static_cast<double>(ranges[3].objects), 90000, 10);
  EXPECT_EQ(s.objects(), 200000u);
}

TEST(ShardSampler, FewKeysGiveFewerRangesNeverAnEmptyOne) {
  ShardSampler s;
  for (int i = 0; i < 3; ++i) s.Add(Key(i), 10);
  auto ranges = s.Split(8);
  ASSERT_LE(ranges.size(), 3u);
  for (const auto& r : ranges) EXPECT_GE(r.objects, 1u);
  ShardSampler empty;
  ASSERT_EQ(empty.Split(3).size(), 1u);  // one range: everything (there is nothing)
}

TEST(ShardFile, RoundTripAndTheIndexFromTheScheduler) {
  engine::ShardPlan plan{"b", "p/", {{"", "p/m", 5, 50}, {"p/m", "", 7, 70}}, 12, 120, "2026-11-29T00:00:00Z"};
  const std::string path = ::testing::TempDir() + "/plan.json";
  std::ofstream(path) << engine::ShardPlanJson(plan);
  auto read = engine::ReadShardPlan(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->shards[1].after, "p/m");
  EXPECT_EQ(read->objects, 12u);
  EXPECT_EQ(*engine::ShardIndex(-1, {{"SLURM_ARRAY_TASK_ID", "1"}}, 2), 1);
  EXPECT_EQ(*engine::ShardIndex(-1, {{"JOB_COMPLETION_INDEX", "0"}}, 2), 0);
  EXPECT_EQ(*engine::ShardIndex(0, {{"SLURM_ARRAY_TASK_ID", "1"}}, 2), 0);  // the flag wins
  EXPECT_FALSE(engine::ShardIndex(-1, {}, 2).ok());
  EXPECT_FALSE(engine::ShardIndex(2, {}, 2).ok());
  std::ofstream(path) << R"({"riptide_shard_plan":1,"bucket":"b","prefix":"","shards":[{"after":"","last":"m"},{"after":"n","last":""}]})";
  EXPECT_FALSE(engine::ReadShardPlan(path).ok());  // a gap between m and n
  std::ofstream(path) << "[]";
  EXPECT_FALSE(engine::ReadShardPlan(path).ok());
  std::remove(path.c_str());
}

// Where a range being listed is cut: strictly inside it, inside the prefix, and valid
// UTF-8 when the keys are (a prefix of `after` on a character boundary, then one
// printable ASCII character).
TEST(MidKey, LiesStrictlyBetweenInsideThePrefixAndIsText) {
  std::mt19937 rng(3);
  const std::string prefix = "data/";
  const std::vector<std::string> chars = {"a",
                                          "b",
                                          "m",
                                          "z",
                                          "0",
                                          "9",
                                          "-",
                                          "~",
                                          "\x21",
                                          "\xc3\xa9",
                                          "\xc3\xa8",
                                          "\xe4\xb8\xad",
                                          "\xf0\x9f\x98\x80"};
  for (int i = 0; i < 5000; ++i) {
    auto key = [&] {
      std::string k = prefix;
      for (int n = static_cast<int>(rng() % 5); n >= 0; --n) k += chars[rng() % chars.size()];
      return k;
    };
    std::string a = key(), b = key();
    if (b < a) std::swap(a, b);
    const std::string last = rng() % 4 == 0 ? "" : b;
    const std::string mid = MidKey(a, last, prefix);
    if (mid.empty()) {
      EXPECT_FALSE(last.empty()) << "an open end always has room";
      continue;
    }
    EXPECT_LT(a, mid);
    if (!last.empty()) {
      EXPECT_LT(mid, last);
    }
    const size_t k = mid.size() - 1;
    ASSERT_GE(k, prefix.size());
    EXPECT_TRUE(mid[k] >= 0x21 && mid[k] <= 0x7e) << "ends in printable ASCII";
    EXPECT_EQ(mid.compare(0, k, a, 0, k), 0) << "the rest is a prefix of after";
    EXPECT_TRUE(k == a.size() || (static_cast<unsigned char>(a[k]) & 0xC0) != 0x80)
        << "on a character boundary";
  }
  EXPECT_EQ(MidKey("data/a", "data/m", prefix), "data/g");
  EXPECT_EQ(MidKey("data/a", "data/b", prefix), "data/aO");
  EXPECT_EQ(MidKey("data/a", "data/a\x01", prefix), "");
  EXPECT_EQ(MidKey("data/b", "data/a", prefix), "");
  EXPECT_EQ(MidKey("", "data/m", prefix), "data/F") << "the prefix is the floor";
  EXPECT_EQ(MidKey("data/a", "", prefix), "data/p");
  EXPECT_EQ(MidKey("data/\xc3\xa9", "", prefix), "data/\xc3\xa9O");
  EXPECT_EQ(MidKey("data/\xc3\xa8x", "data/\xc3\xa9", prefix), "data/\xc3\xa8{")
      << "è below é: after è's x";
}

TEST(MidKey, HalvingAnOpenRangeReachesTheKeys) {
  // A range at "data/file-000500" with no end: cut after cut (each empty upper half
  // given up) lands below the keys a sequential listing would still reach.
  std::string after = "data/file-000500", last;
  int cuts = 0;
  for (; cuts < 60; ++cuts) {
    const std::string mid = MidKey(after, last, "data/");
    ASSERT_FALSE(mid.empty());
    if (mid < "data/file-999999") break;
    last = mid;  // nothing above it: the next cut is below
  }
  EXPECT_LT(cuts, 40);
  EXPECT_GT(KeyPosition("data/z", "data/"), KeyPosition("data/a", "data/"));
  EXPECT_DOUBLE_EQ(KeyPosition("data/", "data/"), 0.0);
  EXPECT_LT(KeyPosition("data/\xff\xff\xff\xff\xff\xff\xff\xff\xff", "data/"), 1.0);
}

}  // namespace
}  // namespace riptide::planner
