// The dataset writer and the upload journal on a scratch directory.
#include "engine/state/dataset.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/state/upload_journal.h"

namespace riptide::engine {
namespace {

namespace fs = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "riptide-dataset-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Read(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string root_;
};

// Bytes go to a temp file beside the target; only Commit gives them the final name, with
// the object's mtime, replacing what was there.
TEST_F(DatasetTest, ATempFileBecomesTheFileOnlyAtCommit) {
  auto ds = Dataset::Open(root_, root_ + "/.riptide");
  ASSERT_TRUE(ds.ok()) << ds.error().message;
  std::ofstream(root_ + "/old.txt") << "previous";
  fs::create_directories(root_ + "/a/b");
  auto temp = (*ds)->CreateTemp("a/b/new.txt", 5);
  ASSERT_TRUE(temp.ok()) << temp.error().message;
  ASSERT_EQ(::pwrite(temp->file.get(), "hello", 5, 0), 5);
  EXPECT_FALSE(fs::exists(root_ + "/a/b/new.txt"));
  auto mtime = (*ds)->Commit(*temp, 1700000000123);
  ASSERT_TRUE(mtime.ok());
  EXPECT_EQ(Read("a/b/new.txt"), "hello");
  auto st = (*ds)->StatFile("a/b/new.txt");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->first, 5u);
  EXPECT_EQ(st->second, *mtime);
  EXPECT_EQ(*mtime / 1000000, 1700000000123);
  // Replacing an existing file is atomic: a temp, then a rename over it.
  auto again = (*ds)->CreateTemp("old.txt", 3);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(::pwrite(again->file.get(), "new", 3, 0), 3);
  EXPECT_EQ(Read("old.txt"), "previous");
  ASSERT_TRUE((*ds)->Commit(*again, 1700000000000).ok());
  EXPECT_EQ(Read("old.txt"), "new");
}

TEST_F(DatasetTest, StaleTempsGoButResumableOnesStay) {
  auto ds = Dataset::Open(root_, root_ + "/.riptide");
  ASSERT_TRUE(ds.ok());
  auto keep = (*ds)->CreateTemp("k/keep.bin", 10);
  auto drop = (*ds)->CreateTemp("k/drop.bin", 10);
  ASSERT_TRUE(keep.ok() && drop.ok());
  EXPECT_EQ((*ds)->RemoveStaleTemps({keep->temp_name}), 1u);
  EXPECT_TRUE(fs::exists(root_ + "/k/" + keep->temp_name));
  EXPECT_FALSE(fs::exists(root_ + "/k/" + drop->temp_name));
}

TEST_F(DatasetTest, SymlinkedFoldersAreNeverFollowed) {
  fs::create_directories(root_ + "/outside");
  fs::create_symlink(root_ + "/outside", root_ + "/link");
  auto ds = Dataset::Open(root_, root_ + "/.riptide");
  ASSERT_TRUE(ds.ok());
  EXPECT_FALSE((*ds)->CreateTemp("link/x.bin", 1).ok());
  EXPECT_TRUE(fs::is_empty(root_ + "/outside"));
}

// Paths read back from state (an edited manifest) are checked where they are used.
TEST_F(DatasetTest, PathsThatLeaveTheDatasetAreRefused) {
  fs::create_directories(root_ + "/ds");
  { std::ofstream(root_ + "/victim") << "keep"; }
  auto ds = Dataset::Open(root_ + "/ds", root_ + "/ds/.riptide");
  ASSERT_TRUE(ds.ok());
  for (const char* rel : {"../victim", "a/../../victim", "./x", "a//b", "/etc/passwd", "a/", ""}) {
    auto removed = (*ds)->RemoveFile(rel);
    ASSERT_FALSE(removed.ok()) << rel;
    EXPECT_NE(removed.error().message.find("is not a path inside"), std::string::npos) << removed.error().message;
    EXPECT_FALSE((*ds)->CreateTemp(rel, 1).ok()) << rel;
    EXPECT_FALSE((*ds)->OpenForRead(rel).ok()) << rel;
  }
  EXPECT_EQ(Read("victim"), "keep");
  auto plain = (*ds)->RemoveFile("missing.bin");  // a plain path passes the check (and is gone already)
  EXPECT_TRUE(plain.ok()) << plain.error().message;
}

// The journal lists what a killed run left open, and keeps a second riptide out.
TEST_F(DatasetTest, UploadJournalLeftoversAndLock) {
  {
    auto j = UploadJournal::Open(root_, "http://h/b/p/");
    ASSERT_TRUE(j.ok()) << j.error().message;
    (*j)->Opened("u1", "p/a");
    (*j)->Opened("u2", "p/b");
    (*j)->Closed("u1");
    auto second = UploadJournal::Open(root_, "http://h/b/p/");
    EXPECT_FALSE(second.ok()) << "a second riptide copying into the same place was not refused";
  }
  auto j = UploadJournal::Open(root_, "http://h/b/p/");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->leftovers(), (std::map<std::string, std::string>{{"u2", "p/b"}}));
  (*j)->Reset();
  auto other = UploadJournal::Open(root_, "http://h/b/other/");
  EXPECT_TRUE(other.ok()) << "another destination has its own journal";
}

}  // namespace
}  // namespace riptide::engine
