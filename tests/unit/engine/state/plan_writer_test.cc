// The files `riptide plan --out DIR` writes: one key per line per list, plan.json totals.
#include "engine/state/plan_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace riptide::engine {
namespace {

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PlanWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/riptide-plan-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(PlanWriterTest, ListsAndTotals) {
  const auto dir = root_ / "out";  // created by Open
  auto w = PlanWriter::Open(dir.string());
  ASSERT_TRUE(w.ok()) << w.error().message;
  (*w)->Add(PlanWriter::Kind::kNew, "p/new one.txt", 10);
  (*w)->Add(PlanWriter::Kind::kModified, "p/changed", 5);
  (*w)->Add(PlanWriter::Kind::kModified, "p/édité", 7, /*drift=*/true);
  (*w)->Add(PlanWriter::Kind::kDelete, "p/gone", 3);
  PlanWriter::Summary s;
  s.source = "s3://b/p/";
  s.destination = "/data";
  s.complete = true;
  s.unchanged = 4;
  s.refused = 1;
  ASSERT_TRUE((*w)->Finish(s).ok());

  EXPECT_EQ(Read(dir / "new.txt"), "p/new one.txt\n");
  EXPECT_EQ(Read(dir / "modified.txt"), "p/changed\np/édité\n");
  EXPECT_EQ(Read(dir / "delete.txt"), "p/gone\n");
  auto j = nlohmann::json::parse(Read(dir / "plan.json"));
  EXPECT_EQ(j["source"], "s3://b/p/");
  EXPECT_EQ(j["new"]["objects"], 1);
  EXPECT_EQ(j["new"]["bytes"], 10);
  EXPECT_EQ(j["modified"]["objects"], 2);
  EXPECT_EQ(j["modified"]["bytes"], 12);
  EXPECT_EQ(j["modified"]["local_drift"], 1);
  EXPECT_EQ(j["delete"]["objects"], 1);
  EXPECT_EQ(j["delete"]["enabled"], false);
  EXPECT_EQ(j["unchanged"], 4);
  EXPECT_EQ(j["refused"], 1);
  EXPECT_EQ(j["complete"], true);
}

TEST_F(PlanWriterTest, EmptyPlanHasEmptyLists) {
  auto w = PlanWriter::Open(root_.string());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Finish({}).ok());
  EXPECT_EQ(Read(root_ / "new.txt"), "");
  EXPECT_EQ(nlohmann::json::parse(Read(root_ / "plan.json"))["delete"]["objects"], 0);
}

TEST_F(PlanWriterTest, UnwritableDirectoryIsAnError) {
  std::ofstream(root_ / "file") << "x";
  auto w = PlanWriter::Open((root_ / "file").string());  // not a directory
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("cannot write"), std::string::npos);
}

}  // namespace
}  // namespace riptide::engine
