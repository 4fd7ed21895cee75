#include "planner/shard_plan.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

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

}  // namespace
}  // namespace riptide::planner
