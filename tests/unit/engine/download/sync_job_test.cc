// The download graph end to end on the in-memory store: bytes on disk, retries, faults,
// cancels, deletes, and jobs sharing one process.
#include "engine/download/sync_job.h"
#include "engine/core/budget.h"
#include "engine/core/checksums.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "tests/support/job_fixture.h"

namespace riptide::testing {
namespace {

using Kind = Fault::Kind;

class SyncJobTest : public JobTest {
 protected:
  // Seeds `bucket` with objects of sizes around the part size: empty, small, whole,
  // ranged with plain ETags, and multipart uploads (md5-N ETags).
  std::map<std::string, std::string> Seed(const std::string& bucket, unsigned seed = 1) {
    store_.CreateBucket(bucket);
    std::map<std::string, std::string> objects;
    const size_t sizes[] = {0, 1, 4096, (64 << 10) - 1, 64 << 10, (128 << 10) + 1, 300 << 10};
    int i = 0;
    for (size_t size : sizes) {
      for (const char* folder : {"data/a/", "data/b/c/"}) {
        std::string key = std::string(folder) + "obj-" + std::to_string(i++) + ".bin";
        objects[key] = Bytes(size, seed + static_cast<unsigned>(i));
        store_.Put(bucket, key, objects[key]);
      }
    }
    objects["data/multi.bin"] = Bytes(450 << 10, seed + 99);
    store_.PutMultipart(bucket, "data/multi.bin", objects["data/multi.bin"], 100 << 10);
    return objects;
  }

  void ExpectMirrored(const std::map<std::string, std::string>& objects, const std::string& dir,
                      const std::string& prefix = "data/") {
    std::vector<std::string> expected;
    for (const auto& [key, data] : objects) {
      const std::string rel = key.substr(prefix.size());
      expected.push_back(rel);
      EXPECT_EQ(ReadFile(dir + "/" + rel), data) << key;
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(FilesUnder(dir), expected);
  }
};

TEST_F(SyncJobTest, MirrorsEveryObjectByteForByteThenSkipsThem) {
  auto objects = Seed("b");
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host());
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->transferred, objects.size());
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(report->Outcome(), "ok");
  ExpectMirrored(objects, root_ + "/ds");

  auto again = engine::RunSync(Sync("b", "data/", "ds"), Host());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->transferred, 0u);
  EXPECT_EQ(again->skipped, objects.size());
}

TEST_F(SyncJobTest, MultipartObjectsAreCheckedPartByPart) {
  auto objects = Seed("b");
  store_.Inject("data/multi.bin", Fault{Kind::kFlipByte, 1});
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 0u);
  EXPECT_GE(report->retries, 1u);
  ExpectMirrored(objects, root_ + "/ds");
  const auto log = store_.Log();
  EXPECT_NE(std::find(log.begin(), log.end(), "HEAD data/multi.bin"), log.end()) << "no part-layout probe";
}

TEST_F(SyncJobTest, RetriesSlowDownsResetsAndShortBodies) {
  auto objects = Seed("b");
  store_.Inject("data/a/obj-0.bin", Fault{Kind::kSlowDown, 2});
  store_.Inject("data/b/c/obj-11.bin", Fault{Kind::kReset, 1});
  store_.Inject("data/a/obj-12.bin", Fault{Kind::kShortBody, 1});
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 0u);
  EXPECT_GE(report->retries, 4u);
  EXPECT_EQ(report->throttled, 2u);  // the SlowDowns, not the resets or short bodies
  ExpectMirrored(objects, root_ + "/ds");
}

TEST_F(SyncJobTest, CorruptBytesAreNeverCommitted) {
  auto objects = Seed("b");
  store_.Inject("data/a/obj-10.bin", Fault{Kind::kFlipByte, -1});  // whole GET, plain ETag
  store_.Inject("data/multi.bin", Fault{Kind::kFlipByte, -1});     // ranged, md5-N ETag
  std::mutex mu;
  std::map<std::string, engine::ObjectEvent> seen;  // what a watcher (the service) is told
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host([&](const engine::ObjectEvent& e) {
                                  std::lock_guard<std::mutex> lock(mu);
                                  EXPECT_TRUE(seen.emplace(e.key, e).second) << e.key << " reported twice";
                                }));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 2u);
  ASSERT_EQ(seen.size(), objects.size());
  EXPECT_FALSE(seen["data/a/obj-10.bin"].ok);
  EXPECT_NE(seen["data/a/obj-10.bin"].reason, "");
  EXPECT_FALSE(seen["data/multi.bin"].ok);
  EXPECT_TRUE(seen["data/a/obj-12.bin"].ok);
  EXPECT_EQ(seen["data/a/obj-12.bin"].bytes, objects["data/a/obj-12.bin"].size());
  EXPECT_EQ(report->Outcome(), "partial");
  EXPECT_EQ(ReadFile(root_ + "/ds/a/obj-10.bin"), "<missing>");
  EXPECT_EQ(ReadFile(root_ + "/ds/multi.bin"), "<missing>");
  objects.erase("data/a/obj-10.bin");
  objects.erase("data/multi.bin");
  ExpectMirrored(objects, root_ + "/ds");  // and no temp file left beside them
}

TEST_F(SyncJobTest, DeleteRemovesOnlyWhatLeftTheBucket) {
  auto objects = Seed("b");
  ASSERT_TRUE(engine::RunSync(Sync("b", "data/", "ds"), Host()).ok());
  store_.Delete("b", "data/a/obj-2.bin");
  objects.erase("data/a/obj-2.bin");
  auto options = Sync("b", "data/", "ds");
  options.delete_extraneous = true;
  auto report = engine::RunSync(options, Host());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->deleted, 1u);
  ExpectMirrored(objects, root_ + "/ds");
}

TEST_F(SyncJobTest, CancelEndsARunStuckOnAStalledResponse) {
  auto objects = Seed("b");
  store_.Inject("data/multi.bin", Fault{Kind::kStall, -1});
  std::thread canceller([&] {
    for (int i = 0; i < 500 && store_.BytesServed("data/a/obj-12.bin") == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    cancel_ = true;
  });
  const auto started = std::chrono::steady_clock::now();
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host());
  canceller.join();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->interrupted);
  EXPECT_EQ(report->Outcome(), "interrupted");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_EQ(ReadFile(root_ + "/ds/multi.bin"), "<missing>");
}

TEST_F(SyncJobTest, AMissingBucketIsAnErrorBeforeAnythingHappens) {
  auto report = engine::RunSync(Sync("nope", "", "ds"), Host());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().http_status, 404);
  EXPECT_EQ(report.error().s3_code, "NoSuchBucket");
}

// One process, two jobs: one after the other, then both at once on different datasets.
TEST_F(SyncJobTest, JobsRunOneAfterAnotherAndConcurrentlyInOneProcess) {
  auto first = Seed("one", 1);
  auto second = Seed("two", 2);
  ASSERT_TRUE(engine::RunSync(Sync("one", "data/", "seq-1"), Host()).ok());
  ASSERT_TRUE(engine::RunSync(Sync("two", "data/", "seq-2"), Host()).ok());
  ExpectMirrored(first, root_ + "/seq-1");
  ExpectMirrored(second, root_ + "/seq-2");

  Result<engine::SyncReport> a = MakeError(ErrorCode::kInternal, "not run");
  Result<engine::SyncReport> b = a;
  std::thread ta([&] { a = engine::RunSync(Sync("one", "data/", "par-1"), Host()); });
  std::thread tb([&] { b = engine::RunSync(Sync("two", "data/", "par-2"), Host()); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->transferred, first.size());
  EXPECT_EQ(b->transferred, second.size());
  ExpectMirrored(first, root_ + "/par-1");
  ExpectMirrored(second, root_ + "/par-2");
}

// The service's jobs share one limit of requests in flight: a job waiting on it can be
// cancelled, and every token comes back when the jobs end.
TEST_F(SyncJobTest, JobsSharingALimitWaitForItAndGiveEveryTokenBack) {
  auto first = Seed("one", 1);
  auto second = Seed("two", 2);
  engine::Budget shared(1);
  store_.Inject("data/a/obj-0.bin", Fault{Kind::kStall, -1});  // job one holds the only token
  std::atomic<bool> cancel_one{false}, cancel_two{false};
  auto host = [&](std::atomic<bool>& cancel) {
    return engine::JobHost{store_.Factory(), engine::CancelToken(&cancel), nullptr, nullptr, &shared, nullptr};
  };
  Result<engine::SyncReport> a = MakeError(ErrorCode::kInternal, "not run");
  Result<engine::SyncReport> b = a;
  std::thread ta([&] { a = engine::RunSync(Sync("one", "data/", "one"), host(cancel_one)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread tb([&] { b = engine::RunSync(Sync("two", "data/", "two"), host(cancel_two)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(shared.used(), 1);
  const auto cancelled = std::chrono::steady_clock::now();
  cancel_two = true;
  tb.join();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::seconds(5));
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_TRUE(b->interrupted);
  EXPECT_EQ(b->transferred, 0u);  // it never got the token
  cancel_one = true;
  ta.join();
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->interrupted);
  EXPECT_EQ(shared.used(), 0);

  // Without the stall both finish on the one shared token, one object at a time.
  store_.ClearFaults();
  cancel_one = cancel_two = false;
  std::thread tc([&] { a = engine::RunSync(Sync("one", "data/", "one"), host(cancel_one)); });
  std::thread td([&] { b = engine::RunSync(Sync("two", "data/", "two"), host(cancel_two)); });
  tc.join();
  td.join();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->failed + b->failed, 0u);
  ExpectMirrored(first, root_ + "/one");
  ExpectMirrored(second, root_ + "/two");
  EXPECT_EQ(shared.used(), 0);
}

}  // namespace
}  // namespace riptide::testing

namespace riptide::testing {
namespace {

// A ranged download whose object is replaced under it: If-Match fails the next part,
// the fetch stage HEADs the object again and fetches the new one. The old object told a
// CRC64NVME (asked with a HEAD before its ranges), the new one tells none: it is proved
// by its own ETag, not held to the old object's checksum.
TEST_F(SyncJobTest, AnObjectReplacedMidDownloadIsFetchedAgainAsItIsNow) {
  auto objects = Seed("b");
  const std::string& old = objects["data/b/c/obj-13.bin"];
  store_.SetHeader("b", "data/b/c/obj-13.bin", "x-amz-checksum-crc64nvme",
                   engine::Crc64NvmeBase64(engine::Crc64Nvme(0, old.data(), old.size())));
  const std::string now = Bytes(200 << 10, 77);
  store_.Inject("data/b/c/obj-13.bin", Fault{Kind::kReplace, 1, now});
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 0u);
  objects["data/b/c/obj-13.bin"] = now;
  ExpectMirrored(objects, root_ + "/ds");
  const auto log = store_.Log();
  // Each round's HEAD for the object's checksum, and the refresh between them.
  EXPECT_EQ(std::count(log.begin(), log.end(), "HEAD data/b/c/obj-13.bin"), 3) << "no refresh of the replaced object";
}

// Parts of uneven size: the first part's size does not describe the rest, so each
// part's size is asked (HEAD ?partNumber=i) and the file is hashed again, not refetched.
TEST_F(SyncJobTest, UnevenUploadPartsAreAskedForAndStillProven) {
  store_.CreateBucket("b");
  const std::vector<std::string> parts = {Bytes(100 << 10, 1), Bytes(130 << 10, 2), Bytes(70 << 10, 3)};
  store_.PutParts("b", "data/uneven.bin", parts);
  auto report = engine::RunSync(Sync("b", "data/", "ds"), Host());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(ReadFile(root_ + "/ds/uneven.bin"), parts[0] + parts[1] + parts[2]);
  EXPECT_EQ(store_.BytesServed("data/uneven.bin"), 300u << 10) << "the bytes were fetched again";
  const auto log = store_.Log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "HEAD data/uneven.bin"), 5) << "checksum + probe + one HEAD per part";
}

}  // namespace
}  // namespace riptide::testing
