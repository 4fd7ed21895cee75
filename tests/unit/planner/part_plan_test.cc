#include "planner/part_plan.h"

#include <gtest/gtest.h>

#include "transport/s3/object_info.h"

namespace riptide::planner {
namespace {

TEST(PlanParts, WholeBelowTheThreshold) {
  PartPolicy p{8, 16};
  auto plan = PlanParts(16, p);
  EXPECT_EQ(plan.mode, PartPlan::Mode::kWhole);
  ASSERT_EQ(plan.parts.size(), 1u);
  EXPECT_EQ(plan.parts[0].last, 15u);
  EXPECT_EQ(PlanParts(0, p).parts.size(), 1u);
}

TEST(PlanParts, RangesCoverEveryByteOnce) {
  PartPolicy p{10, 10};
  for (uint64_t size : {11u, 19u, 20u, 21u, 99u, 100u, 101u}) {
    auto plan = PlanParts(size, p);
    EXPECT_EQ(plan.mode, PartPlan::Mode::kRanges);
    uint64_t next = 0;
    for (const auto& part : plan.parts) {
      EXPECT_EQ(part.first, next);
      EXPECT_LE(part.last - part.first + 1, 10u);
      next = part.last + 1;
    }
    EXPECT_EQ(next, size);
  }
}

// A slot a part within the limit; an object proved by one MD5 stream takes a lane
// width-th of the limit (at least 2) where the CPU has lanes, below kWideAlone.
TEST(ObjectSlots, OneMd5StreamLeavesRoomForOthersBelowTheWideAloneSize) {
  constexpr uint64_t kMiB = 1u << 20;
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 32, false, 8), 8);   // a checksum, or md5-N parts
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 4, false, 8), 4);    // never above the limit
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 32, true, 8), 4);    // 32 / 8
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 32, true, 16), 2);   // 32 / 16
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 8, true, 8), 2);     // at least 2 ...
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 1, true, 8), 1);     // ... within the limit
  EXPECT_EQ(ObjectSlots(1 * kMiB, 1, 32, true, 8), 1);     // a whole GET
  EXPECT_EQ(ObjectSlots(64 * kMiB, 8, 32, true, 0), 8);    // no lanes: nothing to share
  EXPECT_EQ(ObjectSlots(kWideAlone - 1, 32, 64, true, 8), 8);
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 8), 32);  // big enough to go wide alone
}

// From kWideAlone up, an object shares the limit only with the other huge ones in view:
// a few of them land side by side (their MD5s in lanes), one alone goes wide.
TEST(ObjectSlots, HugeObjectsShareTheLimitOnlyWithEachOther) {
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 8, 1), 32);   // alone in view
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 8, 0), 32);   // not counted (drifted): alone
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 8, 4), 16);   // 64 / 4
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 8, 2), 32);   // 64 / 2, no more than its parts
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 8, 100), 8);  // never narrower than the lanes make it
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 8, true, 8, 4), 2);     // at least 2
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, false, 8, 4), 32);  // not one MD5 stream: a slot a part
  EXPECT_EQ(ObjectSlots(kWideAlone, 32, 64, true, 0, 4), 32);   // no lanes
  EXPECT_EQ(ObjectSlots(64u << 20, 8, 32, true, 8, 4), 4);      // below kWideAlone the lanes decide
}

TEST(UniformUploadParts, ShapesThatFit) {
  EXPECT_EQ(UniformUploadParts(11, 5, 3), (std::vector<uint64_t>{5, 5, 1}));
  EXPECT_EQ(UniformUploadParts(10, 5, 2), (std::vector<uint64_t>{5, 5}));
  EXPECT_EQ(UniformUploadParts(7, 7, 1), (std::vector<uint64_t>{7}));
  EXPECT_TRUE(UniformUploadParts(10, 5, 3).empty());  // the last part would be empty
  EXPECT_TRUE(UniformUploadParts(16, 5, 3).empty());  // three parts of 5 cannot hold 16
  EXPECT_TRUE(UniformUploadParts(8, 7, 1).empty());
  EXPECT_TRUE(UniformUploadParts(8, 0, 2).empty());
}

TEST(ContentRange, Parses) {
  s3::ContentRange r;
  ASSERT_TRUE(s3::ParseContentRange("bytes 0-99/1234", &r));
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(r.total, 1234u);
  EXPECT_FALSE(s3::ParseContentRange("bytes 0-99/*", &r));
  EXPECT_FALSE(s3::ParseContentRange("bytes 5-4/10", &r));
  EXPECT_FALSE(s3::ParseContentRange("bytes 0-10/10", &r));
  EXPECT_FALSE(s3::ParseContentRange("bytes 0-1/10 junk", &r));
}

}  // namespace
}  // namespace riptide::planner
