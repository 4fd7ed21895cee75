#include "engine/core/source_moves.h"

#include <gtest/gtest.h>

#include "tests/support/job_fixture.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

class SourceMovesTest : public testing::JobTest {};

TEST_F(SourceMovesTest, OnlyTheObjectThatWasCopiedIsDeleted) {
  store_.CreateBucket("src");
  store_.Put("src", "same", "copied bytes");
  store_.Put("src", "replaced", "a newer upload");
  const std::string copied_etag = s3::Md5Hex("copied bytes");
  auto transport = store_.Factory()(http::TransportOptions{});
  s3::RequestFactory requests(Client());
  RetryPolicy retry;
  const std::vector<MovedObject> moved = {
      {"same", copied_etag}, {"replaced", s3::Md5Hex("what was copied")}, {"gone", copied_etag}, {"no-etag", ""}};
  auto outcomes = DeleteMovedSources(*transport, requests, "src", moved, RetryScope{retry}, 2);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_TRUE(outcomes[0].deleted);
  EXPECT_FALSE(store_.Get("src", "same"));
  // This store ignores If-Match, as s3rver does: the HEAD keeps the newer upload.
  EXPECT_FALSE(outcomes[1].deleted);
  EXPECT_NE(outcomes[1].reason.find("replaced after it was copied"), std::string::npos);
  EXPECT_TRUE(store_.Get("src", "replaced"));
  EXPECT_TRUE(outcomes[2].deleted);  // already gone: nothing left to move
  EXPECT_FALSE(outcomes[3].deleted);
}

}  // namespace
}  // namespace riptide::engine
