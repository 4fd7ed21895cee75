#include "apps/serve/event_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>

namespace riptide::serve {
namespace {

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/riptide-events-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<EventStore> Open() {
    auto store = EventStore::Open(dir_);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(*store);
  }
  static MatchedNotice Created(const std::string& key, const std::string& etag, std::vector<std::string> jobs) {
    Notice n;
    n.bucket = "b";
    n.key = key;
    n.etag = etag;
    n.format = "plain";
    return {n, std::move(jobs)};
  }
  std::string dir_;
};

TEST_F(EventStoreTest, RedeliveriesCountOnceAndClaimsSurviveACrash) {
  auto store = Open();
  auto r = store->Receive({Created("k1", "e1", {"job"}), Created("k2", "", {"job"}), Created("x", "e", {})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::make_tuple(r->accepted, r->matched, r->unmatched, r->duplicate), std::make_tuple(3, 2, 1, 0));
  r = store->Receive({Created("k1", "e1", {"job"}), Created("k1", "e2", {"job"})});  // one again, one new
  EXPECT_EQ(std::make_tuple(r->accepted, r->duplicate), std::make_tuple(1, 1));
  auto claimed = store->Claim("job", 7, 2);
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].key, "k1");
  store.reset();  // the process dies with two running

  store = Open();
  ASSERT_TRUE(store->Recover().ok());
  EXPECT_EQ(*store->PendingJobs(), std::vector<std::string>{"job"});
  claimed = store->Claim("job", 8, 10);
  ASSERT_EQ(claimed->size(), 3u);
  std::vector<NoticeOutcome> outcomes;
  for (const auto& c : *claimed) outcomes.push_back({c.id, c.key == "k2" ? "failed" : "done", 1, ""});
  ASSERT_TRUE(store->Finish("job", 8, outcomes).ok());
  auto c = store->Counters("");
  EXPECT_EQ(std::make_tuple(c->received, c->duplicate, c->unmatched, c->succeeded, c->failed, c->pending),
            std::make_tuple(5u, 1u, 1u, 2u, 1u, 0u));
  EXPECT_TRUE(store->PendingJobs()->empty());
  auto recent = store->Recent(10, 0);
  ASSERT_EQ(recent->size(), 4u);
  EXPECT_EQ(recent->front().key, "k1");  // newest first
  EXPECT_EQ(recent->back().jobs.at(0).state, "done");
}

TEST_F(EventStoreTest, FilesArePagedByKeyWithinAPrefix) {
  auto store = Open();
  std::vector<EventStore::FileUpdate> updates;
  for (const char* k : {"a/1", "a/2", "a/3", "b/1"}) updates.push_back({k, FileSide{1, 5, 1}, std::nullopt});
  ASSERT_TRUE(store->UpdateFiles("job", updates).ok());
  ASSERT_TRUE(store->UpdateFiles("job", {{"a/2", std::nullopt, FileSide{1, 5, 2}}}).ok());
  auto page = store->Files("job", "a/", "", 2);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[1].key, "a/2");
  EXPECT_EQ((*page)[1].source.present, 1);  // kept when only the destination changed
  EXPECT_EQ((*page)[1].destination.present, 1);
  EXPECT_EQ((*page)[0].destination.present, -1);
  page = store->Files("job", "a/", "a/2", 10);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].key, "a/3");
  EXPECT_TRUE(store->Files("other", "", "", 10)->empty());
}

}  // namespace
}  // namespace riptide::serve
