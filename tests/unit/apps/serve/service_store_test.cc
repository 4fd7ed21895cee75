#include "apps/serve/service_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace riptide::serve {
namespace {

class ServiceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/riptide-store-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<ServiceStore> Open() {
    auto store = ServiceStore::Open(dir_ + "/state");
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(*store);
  }
  std::string dir_;
};

engine::SyncReport Report(uint64_t transferred, uint64_t failed, double seconds) {
  engine::SyncReport r;
  r.listed = transferred + failed + 1;
  r.transferred = transferred;
  r.skipped = 1;
  r.failed = failed;
  r.bytes = transferred * 100;
  r.retries = 4;
  r.throttled = 3;
  r.seconds = seconds;
  return r;
}

using Queue = std::map<std::string, std::pair<int64_t, std::string>>;

TEST_F(ServiceStoreTest, AQueuedRunTakesTheTriggerOfASweepAskedWhileItWaits) {
  auto store = Open();
  const int64_t id = *store->Enqueue("job", "event");
  ASSERT_TRUE(store->Retrigger(id, "manual").ok());
  EXPECT_EQ(*store->Queued(), (Queue{{"job", {id, "manual"}}}));
  ASSERT_TRUE(store->Start(id, "incremental").ok());
  ASSERT_TRUE(store->Retrigger(id, "schedule").ok());  // no longer queued: unchanged
  EXPECT_EQ((**store->Get(id)).trigger, "manual");
}

TEST_F(ServiceStoreTest, RunsGoFromQueuedToTheirOutcomeAndSurviveAReopen) {
  auto store = Open();
  const int64_t a = *store->Enqueue("job", "startup");
  EXPECT_FALSE(*store->HasSynced("job"));
  ASSERT_TRUE(store->Start(a, "initial").ok());
  ASSERT_TRUE(store->Finish(a, Report(3, 1, 2), "partial", "").ok());
  ASSERT_TRUE(store->RecordObjects(a, {{"k1", true, 100, 1, ""}, {"<k2>", false, 0, 2, "bad bytes"}}).ok());
  EXPECT_TRUE(*store->HasSynced("job"));  // a partial run synced it
  const int64_t b = *store->Enqueue("job", "manual");
  ASSERT_TRUE(store->Coalesce(b).ok());
  ASSERT_TRUE(store->Start(b, "incremental").ok());  // and the process dies here
  const int64_t c = *store->Enqueue("job", "schedule");
  const int64_t other = *store->Enqueue("other", "manual");
  ASSERT_TRUE(store->Close(other, "cancelled", "cancelled before it started").ok());
  store.reset();

  store = Open();
  EXPECT_EQ(*store->RecoverInterrupted(), std::vector<int64_t>{b});
  EXPECT_EQ(*store->RecoverInterrupted(), std::vector<int64_t>{});  // once
  EXPECT_EQ(*store->Queued(), (Queue{{"job", {c, "schedule"}}}));
  auto run_a = **store->Get(a);
  EXPECT_EQ(run_a.state, "partial");
  EXPECT_EQ(run_a.kind, "initial");
  EXPECT_EQ(run_a.trigger, "startup");
  EXPECT_EQ(run_a.transferred, 3u);
  EXPECT_EQ(run_a.failed, 1u);
  EXPECT_EQ(run_a.bytes, 300u);
  EXPECT_EQ(run_a.retries, 4u);
  EXPECT_EQ(run_a.throttled, 3u);
  auto run_b = **store->Get(b);
  EXPECT_EQ(run_b.state, "interrupted");
  EXPECT_EQ(run_b.triggers, 2);
  EXPECT_FALSE(store->Get(9999)->has_value());
  auto objects = *store->Objects(a, 10);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[1].key, "<k2>");
  EXPECT_FALSE(objects[1].ok);
  EXPECT_EQ(objects[1].reason, "bad bytes");

  auto recent = *store->Recent("", 2, 0);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].id, other);  // newest first
  EXPECT_EQ((*store->Recent("job", 10, 1)).size(), 2u);
  EXPECT_EQ(*store->CountRuns(), 4);

  auto totals = *store->Totals();
  ASSERT_EQ(totals.count("job"), 1u);
  const JobTotals& t = totals["job"];
  EXPECT_EQ(t.runs_by_state.at("partial"), 1u);
  EXPECT_EQ(t.runs_by_state.at("interrupted"), 1u);
  EXPECT_EQ(t.transferred, 3u);
  EXPECT_EQ(t.failed, 1u);
  EXPECT_EQ(t.throttled, 3u);
  // Both runs that started were timed (the interrupted one ends at the recovery), each
  // well under a second; the cancelled one never started.
  EXPECT_EQ(t.timed_runs, 2u);
  EXPECT_EQ(t.runs_within[0], 2u);
  EXPECT_LT(t.run_seconds, 2.0);
  EXPECT_EQ(totals["other"].timed_runs, 0u);
  EXPECT_EQ(t.last_success_ms, 0);  // partial is not a success
  EXPECT_EQ((t.runs_by_trigger.at({"startup", false})), 1u);
  EXPECT_EQ(totals["other"].runs_by_state.at("cancelled"), 1u);
  EXPECT_TRUE(store->Probe().ok());
}

TEST_F(ServiceStoreTest, KeepsTheFirstObjectsOfAHugeRun) {
  auto store = Open();
  const int64_t id = *store->Enqueue("job", "manual");
  std::vector<ObjectRow> many(ServiceStore::kMaxObjects + 10, ObjectRow{"k", true, 1, 1, ""});
  ASSERT_TRUE(store->RecordObjects(id, many).ok());
  EXPECT_EQ(store->Objects(id, 1 << 30)->size(), ServiceStore::kMaxObjects);
}

TEST_F(ServiceStoreTest, AnUnwritableStateDirectoryIsAnError) {
  auto store = ServiceStore::Open("/proc/riptide-cannot-be-here");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("cannot create the state directory"), std::string::npos);
}

}  // namespace
}  // namespace riptide::serve
