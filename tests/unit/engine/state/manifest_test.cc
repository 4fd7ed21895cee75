// The manifest and the part journal on a real SQLite file in a scratch directory.
#include "engine/state/manifest.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/state/part_journal.h"

namespace riptide::engine {
namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "riptide-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static ObjectRow Row(const std::string& key, uint64_t size) {
    ObjectRow r;
    r.key = key;
    r.path = key;
    r.size = size;
    r.etag = "e-" + key;
    r.xxh3 = "x";
    r.verified_by = "md5";
    return r;
  }
  std::string dir_;
};

TEST_F(StateTest, RowsComeBackInKeyOrderThroughTheCursorAndSurviveAReopen) {
  {
    auto m = Manifest::Open(dir_);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->Upsert({Row("b", 2), Row("a/z", 1), Row("a-", 3), Row("c", 4)}).ok());
    ASSERT_TRUE((*m)->Upsert({Row("b", 20)}).ok());  // an update, not a second row
    ASSERT_TRUE((*m)->Delete({"c"}).ok());
  }
  auto m = Manifest::Open(dir_);
  ASSERT_TRUE(m.ok());
  auto cursor = (*m)->Cursor();
  std::vector<std::pair<std::string, uint64_t>> seen;
  for (const planner::ManifestEntry* e = cursor->Current(); e; cursor->Next(), e = cursor->Current()) {
    seen.emplace_back(e->key, e->size);
  }
  // Byte order, as S3 lists: '-' (0x2d) before '/' (0x2f).
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, uint64_t>>{{"a-", 3}, {"a/z", 1}, {"b", 20}}));
  auto totals = (*m)->GetTotals();
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->objects, 3u);
  EXPECT_EQ(totals->bytes, 24u);
  EXPECT_TRUE(*(*m)->HasPath("a/z"));
  EXPECT_FALSE(*(*m)->HasPath("c"));
}

TEST_F(StateTest, ADatasetStaysBoundToItsSourceOnceItHoldsSomething) {
  auto m = Manifest::Open(dir_);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE((*m)->BindSource("s3://a/p/").ok());
  EXPECT_TRUE((*m)->BindSource("s3://a/p/").ok());
  EXPECT_TRUE((*m)->BindSource("s3://typo/").ok());  // empty: a corrected command takes it over
  EXPECT_TRUE((*m)->BindSource("s3://a/p/").ok());
  ASSERT_TRUE((*m)->Upsert({Row("k", 1)}).ok());
  auto other = (*m)->BindSource("s3://other/");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("is a mirror of s3://a/p/"), std::string::npos);
  EXPECT_TRUE((*m)->BindSource("s3://a/p/").ok());
}

TEST_F(StateTest, RunsAreRecordedNewestFirstWithTheirFailures) {
  auto m = Manifest::Open(dir_);
  ASSERT_TRUE(m.ok());
  auto first = (*m)->BeginRun("s3://a/");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*(*m)->LastRunStatus(), "running");  // a killed run shows as running
  SyncReport report;
  report.transferred = 3;
  report.failed = 1;
  report.failures = {{"k", "integrity: bad"}};
  (*m)->runs().Record(*first, report);
  auto second = (*m)->BeginRun("s3://a/");
  (*m)->runs().Record(*second, SyncReport{});
  auto runs = (*m)->RecentRuns(5);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].status, "ok");
  EXPECT_EQ((*runs)[1].status, "partial");
  EXPECT_EQ((*runs)[1].transferred, 3u);
  EXPECT_TRUE((*m)->LastFailures()->empty());  // the latest finished run had none
}

TEST_F(StateTest, ThePartJournalRecordsDonePartsAndForgetsThem) {
  auto m = Manifest::Open(dir_);  // creates manifest.db
  ASSERT_TRUE(m.ok());
  auto j = PartJournal::Open(dir_);
  ASSERT_TRUE(j.ok());
  (*j)->Begin({"big", "etag-3", 300, 100, "big", ".big.riptide-tmp", {}});
  const std::string file = dir_ + "/data";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  (*j)->PartDone("big", 0, ::dup(fd));
  (*j)->PartDone("big", 2, ::dup(fd));
  ::close(fd);
  (*j)->Drain();
  auto found = (*j)->Find("big");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->done, (std::set<int>{0, 2}));
  EXPECT_EQ(found->etag, "etag-3");
  EXPECT_EQ((*j)->TempNames().count(".big.riptide-tmp"), 1u);
  (*j)->Forget("big");
  (*j)->Drain();
  EXPECT_FALSE((*j)->Find("big"));
}

}  // namespace
}  // namespace riptide::engine
