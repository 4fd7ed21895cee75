// Copies into a bucket on the in-memory store: uploads of a directory (single PUTs and
// multipart), streamed bucket-to-bucket copies, --delete, and faults on the way.
#include "engine/copy/copy_job.h"
#include "engine/state/inspect.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "tests/support/job_fixture.h"

namespace riptide::testing {
namespace {

class CopyJobTest : public JobTest {
 protected:
  std::map<std::string, std::string> SeedDirectory(const std::string& dir) {
    std::map<std::string, std::string> files = {
        {"empty", ""}, {"a/small.txt", Bytes(100, 1)}, {"a/b/medium.bin", Bytes(300 << 10, 2)},
        {"big.bin", Bytes((6 << 20) + 17, 3)}};  // above the 5 MiB threshold: two parts
    for (const auto& [rel, data] : files) WriteFile(dir + "/" + rel, data);
    return files;
  }
  void ExpectInBucket(const std::string& bucket, const std::string& prefix,
                      const std::map<std::string, std::string>& objects) {
    std::vector<std::string> expected;
    for (const auto& [rel, data] : objects) {
      expected.push_back(prefix + rel);
      auto o = store_.Get(bucket, prefix + rel);
      ASSERT_NE(o, nullptr) << rel;
      EXPECT_EQ(o->data, data) << rel;
    }
    EXPECT_EQ(store_.Keys(bucket), expected);
    EXPECT_EQ(store_.OpenUploads(), 0u);
  }
};

TEST_F(CopyJobTest, UploadsADirectoryThenCopiesNothingTheSecondTime) {
  auto files = SeedDirectory(root_ + "/src");
  store_.CreateBucket("dst");
  auto options = Copy("dst", "up/");
  options.source_dir = root_ + "/src";
  std::mutex mu;
  std::map<std::string, uint64_t> landed;  // what a watcher (the service) is told
  auto report = engine::RunCopy(options, Host([&](const engine::ObjectEvent& e) {
                                  std::lock_guard<std::mutex> lock(mu);
                                  EXPECT_TRUE(e.ok) << e.key << ": " << e.reason;
                                  landed[e.key] = e.bytes;
                                }));
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->transferred, files.size());
  ASSERT_EQ(landed.size(), files.size());
  EXPECT_EQ(landed["up/big.bin"], files["big.bin"].size());
  EXPECT_EQ(report->failed, 0u);
  ExpectInBucket("dst", "up/", files);
  EXPECT_EQ(store_.Get("dst", "up/big.bin")->part_sizes.size(), 2u);

  auto again = engine::RunCopy(options, Host());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->transferred, 0u);
  EXPECT_EQ(again->skipped, files.size());

  // Both runs are recorded where `riptide status s3://dst/up/` reads them.
  auto status = engine::ReadCopyStatus(options.state_dir, "s3://dst/up/");
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(status->size(), 1u);
  const auto& runs = (*status)[0].runs;
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, "ok");
  EXPECT_EQ(runs[0].transferred, 0u);
  EXPECT_EQ(runs[1].transferred, files.size());
  EXPECT_EQ(runs[1].source, root_ + "/src");
  EXPECT_FALSE(engine::ReadCopyStatus(options.state_dir, "s3://dst/other/").ok());
}

TEST_F(CopyJobTest, StreamsBetweenBucketsThroughRetriesAndDeletesWhatTheSourceLacks) {
  store_.CreateBucket("src");
  store_.CreateBucket("dst");
  std::map<std::string, std::string> objects = {{"x/1", Bytes(10, 1)}, {"x/2", Bytes(200 << 10, 2)}};
  for (const auto& [rel, data] : objects) store_.Put("src", "in/" + rel, data);
  store_.PutMultipart("src", "in/x/3", Bytes((11 << 20) + 5, 3), 5 << 20);
  objects["x/3"] = store_.Get("src", "in/x/3")->data;
  store_.Put("dst", "out/stale", "old");
  store_.Inject("in/x/2", Fault{Fault::Kind::kSlowDown, 2});
  store_.Inject("in/x/3", Fault{Fault::Kind::kReset, 1});

  auto options = Copy("dst", "out/");
  options.source = engine::BucketSide{Client("ANOTHERKEY"), {}, "src", "in/"};  // other keys: streamed
  options.delete_extraneous = true;
  auto report = engine::RunCopy(options, Host());
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->failed, 0u);
  EXPECT_GE(report->retries, 3u);
  EXPECT_EQ(report->deleted, 1u);
  ExpectInBucket("dst", "out/", objects);
  // The multipart source kept its part layout, so its ETag came out equal.
  EXPECT_EQ(store_.Get("dst", "out/x/3")->etag, store_.Get("src", "in/x/3")->etag);
}

TEST_F(CopyJobTest, ASourceObjectThatNeverReadsRightFailsAloneAndLeavesNoUpload) {
  store_.CreateBucket("src");
  store_.CreateBucket("dst");
  store_.Put("src", "ok", Bytes(1000, 1));
  store_.PutMultipart("src", "bad", Bytes((11 << 20) + 5, 2), 5 << 20);
  store_.Inject("bad", Fault{Fault::Kind::kNotFound, -1});
  auto options = Copy("dst", "");
  options.source = engine::BucketSide{Client("ANOTHERKEY"), {}, "src", ""};
  auto report = engine::RunCopy(options, Host());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 1u);
  EXPECT_EQ(report->transferred, 1u);
  EXPECT_EQ(store_.Keys("dst"), std::vector<std::string>{"ok"});
  EXPECT_EQ(store_.OpenUploads(), 0u);
}

}  // namespace
}  // namespace riptide::testing
