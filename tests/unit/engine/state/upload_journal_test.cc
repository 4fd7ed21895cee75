#include "engine/state/upload_journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/state/run_log.h"

namespace riptide::engine {
namespace {

class UploadJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/riptide-journal-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) {
    std::ofstream(dir_ + "/uploads-" + DestinationId(kDestination) + ".jsonl") << text;
  }
  static constexpr const char* kDestination = "http://host/bucket/prefix/";
  std::string dir_;
};

TEST_F(UploadJournalTest, LeftoversSurviveAndACutShortLineIsSkipped) {
  {
    auto journal = UploadJournal::Open(dir_, kDestination);
    ASSERT_TRUE(journal.ok()) << journal.error().message;
    (*journal)->Opened("u1", "a/key");
    (*journal)->Opened("u2", "b/key");
    (*journal)->Closed("u1");
  }
  // A kill cut a line in the middle of an earlier run, and the last one.
  std::ofstream(dir_ + "/uploads-" + DestinationId(kDestination) + ".jsonl", std::ios::app)
      << "{\"open\": \"u3\", \"ke\n{\"open\": \"u4\", \"key\": \"d\"}\n{\"closed\": \"u";
  auto journal = UploadJournal::Open(dir_, kDestination);
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  EXPECT_EQ((*journal)->leftovers(), (std::map<std::string, std::string>{{"u2", "b/key"}, {"u4", "d"}}));
}

TEST_F(UploadJournalTest, LinesRiptideNeverWritesAreAnErrorWithTheirLineNotACrash) {
  for (const std::string bad : {"{\"open\": 5, \"key\": \"k\"}\n", "{\"open\": \"u\"}\n", "[1, 2]\n",
                                 "{\"closed\": null}\n", "\"text\"\n"}) {
    Write("{\"open\": \"u1\", \"key\": \"k\"}\n" + bad);
    auto journal = UploadJournal::Open(dir_, kDestination);
    ASSERT_FALSE(journal.ok()) << bad;
    EXPECT_NE(journal.error().message.find(".jsonl:2: not a line riptide writes"), std::string::npos)
        << journal.error().message;
  }
}

}  // namespace
}  // namespace riptide::engine
