#include "engine/core/stream_hasher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "tests/support/deadline.h"
#include "tests/support/random_bytes.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

// A file of `data` in the temp folder, open for reading and writing, removed at the end.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& data, bool written = true)
      : path_((std::filesystem::temp_directory_path() / ("riptide-stream-" + name)).string()) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (written && !data.empty()) {
      EXPECT_EQ(::pwrite(fd_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    }
  }
  ~TempFile() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  int fd() const { return fd_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Tasks started on threads of their own (joined at the end), or kept and never run.
class Background {
 public:
  explicit Background(bool run = true) : run_(run) {}
  ~Background() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : threads_) t.join();
  }
  HashRounds::Schedule schedule() {
    return [this](std::function<void()> task) {
      std::lock_guard<std::mutex> lock(mu_);
      if (run_) {
        threads_.emplace_back(std::move(task));
      } else {
        kept_.push_back(std::move(task));
      }
    };
  }
  size_t kept() {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size();
  }
  void RunKept() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(kept_);
    }
    for (auto& t : tasks) t();
  }

 private:
  bool run_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::vector<std::function<void()>> kept_;
};

// A file written in ranges out of order, hashed as they land: the same digests as a
// one-pass read, and the multipart ETag S3 would give its parts.
TEST(StreamHasher, RangesLandingOutOfOrderHashLikeOnePass) {
  const std::string data = riptide::testing::RandomBytes(1000003, 7);
  TempFile file("ranges", data, false);
  ASSERT_EQ(::ftruncate(file.fd(), static_cast<off_t>(data.size())), 0);
  const std::vector<uint64_t> parts = {400000, 400000, 200003};
  Background background;
  auto rounds = std::make_shared<HashRounds>(background.schedule());
  auto hasher = std::make_shared<StreamHasher>(file.fd(), true, parts, "CRC32C", rounds);
  const std::pair<uint64_t, uint64_t> ranges[] = {{400000, 400000}, {0, 400000}, {800000, 200003}};
  for (auto [off, len] : ranges) {
    ASSERT_EQ(::pwrite(file.fd(), data.data() + off, len, static_cast<off_t>(off)), static_cast<ssize_t>(len));
    hasher->RangeDone(off, len);
  }
  auto streamed = hasher->Finish();
  auto whole = DigestFile(file.fd(), true, parts, "CRC32C");
  ASSERT_TRUE(streamed.ok() && whole.ok());
  EXPECT_EQ(streamed->md5, s3::Md5Hex(data));
  EXPECT_EQ(streamed->xxh3, whole->xxh3);
  EXPECT_EQ(streamed->checksum, whole->checksum);
  std::vector<std::string> part_md5 = {s3::Md5Hex(data.substr(0, 400000)), s3::Md5Hex(data.substr(400000, 400000)),
                                       s3::Md5Hex(data.substr(800000))};
  EXPECT_EQ(streamed->parts_etag, s3::CompositeEtag(part_md5));
  EXPECT_EQ(whole->parts_etag, streamed->parts_etag);
}

// Dozens of files of every awkward length land range by range from three threads while
// the rounds run in the background; two threads finish them: each digest is the one
// a one-pass read gives.
TEST(StreamHasher, ManyStreamsLandingTogetherHashLikeOnePass) {
  const std::vector<size_t> sizes = {0, 1, 63, 64, 65, 127, 128, 4095, 65536, (128 << 10) - 1, 128 << 10,
                                     (128 << 10) + 1, 200000, 333333, 700001, 1 << 20, 1500000};
  std::vector<std::string> datas;
  std::vector<std::unique_ptr<TempFile>> files;
  Background background;
  auto rounds = std::make_shared<HashRounds>(background.schedule());
  std::vector<std::shared_ptr<StreamHasher>> hashers;
  std::vector<std::tuple<size_t, uint64_t, uint64_t>> ranges;  // file, offset, length
  for (size_t i = 0; i < 2 * sizes.size(); ++i) {
    datas.push_back(riptide::testing::RandomBytes(sizes[i % sizes.size()], static_cast<uint32_t>(i)));
    files.push_back(std::make_unique<TempFile>("many-" + std::to_string(i), datas.back()));
    hashers.push_back(std::make_shared<StreamHasher>(files.back()->fd(), true, std::vector<uint64_t>(),
                                                     i % 2 ? "CRC64NVME" : "", rounds));
    for (uint64_t off = 0; off < datas.back().size() || off == 0; off += 100000) {
      ranges.emplace_back(i, off, std::min<uint64_t>(100000, datas.back().size() - off));
      if (datas.back().empty()) break;
    }
  }
  std::shuffle(ranges.begin(), ranges.end(), std::mt19937(5));
  std::vector<std::thread> landing;
  for (size_t w = 0; w < 3; ++w) {
    landing.emplace_back([&, w] {
      for (size_t r = w; r < ranges.size(); r += 3) {
        auto [i, off, len] = ranges[r];
        hashers[i]->RangeDone(off, len);
      }
    });
  }
  for (auto& t : landing) t.join();
  std::vector<Result<FileDigest>> streamed(hashers.size(), MakeError(ErrorCode::kIo, "not finished"));
  std::vector<std::thread> finishing;
  for (size_t w = 0; w < 2; ++w) {
    finishing.emplace_back([&, w] {
      for (size_t i = w; i < hashers.size(); i += 2) streamed[i] = hashers[i]->Finish();
    });
  }
  for (auto& t : finishing) t.join();
  for (size_t i = 0; i < hashers.size(); ++i) {
    auto whole = DigestFile(files[i]->fd(), true, {}, i % 2 ? "CRC64NVME" : "");
    ASSERT_TRUE(streamed[i].ok() && whole.ok()) << i;
    EXPECT_EQ(streamed[i]->md5, s3::Md5Hex(datas[i])) << "size " << datas[i].size();
    EXPECT_EQ(streamed[i]->xxh3, whole->xxh3) << i;
    EXPECT_EQ(streamed[i]->checksum, whole->checksum) << i;
    EXPECT_EQ(streamed[i]->size, datas[i].size());
  }
}

// With no background task ever run, Finish drives the rounds itself, and takes every
// other ready stream along in its lanes: 16 streams of two chunks each take two rounds
// in all, not two each.
TEST(StreamHasher, FinishDrivesRoundsAndTakesOtherStreamsAlong) {
  Background never(false);
  auto rounds = std::make_shared<HashRounds>(never.schedule());
  std::vector<std::string> datas;
  std::vector<std::unique_ptr<TempFile>> files;
  std::vector<std::shared_ptr<StreamHasher>> hashers;
  constexpr size_t kSize = HashRounds::kChunk + 1000;  // two chunks
  for (int i = 0; i < 16; ++i) {
    datas.push_back(riptide::testing::RandomBytes(kSize + i, static_cast<uint32_t>(100 + i)));
    files.push_back(std::make_unique<TempFile>("along-" + std::to_string(i), datas.back()));
    hashers.push_back(std::make_shared<StreamHasher>(files.back()->fd(), true, std::vector<uint64_t>(), "", rounds));
    hashers.back()->RangeDone(0, datas.back().size());
  }
  EXPECT_EQ(never.kept(), 1u);  // one drain task asked for, never run
  for (int i = 0; i < 16; ++i) {
    auto digest = riptide::testing::ReturnsWithin(std::chrono::seconds(10), "Finish with no background task",
                                                  [&] { return hashers[i]->Finish(); });
    ASSERT_TRUE(digest.ok());
    EXPECT_EQ(digest->md5, s3::Md5Hex(datas[i]));
  }
  const HashRounds::Counts counts = rounds->counts();
  EXPECT_EQ(counts.rounds, 2u);
  EXPECT_EQ(counts.widest, 16);
  EXPECT_EQ(counts.streams, 32u);
  EXPECT_EQ(counts.bytes, 16u * kSize + 120);
}

// In the background, rounds wait for a full kernel call of streams, or for a backlog of
// bytes; Finish hashes what its stream has whenever it is called.
TEST(StreamHasher, BackgroundRoundsWaitForEnoughStreamsOrBytes) {
  Background kept(false);
  auto rounds = std::make_shared<HashRounds>(kept.schedule(), 4, HashRounds::kChunk);
  std::vector<std::string> datas;
  std::vector<std::unique_ptr<TempFile>> files;
  std::vector<std::shared_ptr<StreamHasher>> hashers;
  for (int i = 0; i < 4; ++i) {
    datas.push_back(riptide::testing::RandomBytes(100000, static_cast<uint32_t>(200 + i)));
    files.push_back(std::make_unique<TempFile>("ripe-" + std::to_string(i), datas.back()));
    hashers.push_back(std::make_shared<StreamHasher>(files.back()->fd(), true, std::vector<uint64_t>(), "", rounds));
    hashers.back()->RangeDone(0, datas.back().size());
    EXPECT_EQ(kept.kept(), i < 3 ? 0u : 1u) << "streams ready: " << i + 1;
  }
  kept.RunKept();
  EXPECT_EQ(rounds->counts().rounds, 1u);
  EXPECT_EQ(rounds->counts().widest, 4);
  EXPECT_EQ(rounds->counts().bytes, 400000u);

  // One stream alone: ripe once a chunk's worth waits (the limit here), and hashed in the
  // background only until less does.
  constexpr uint64_t kQuarter = HashRounds::kChunk / 4;
  const std::string big = riptide::testing::RandomBytes(2 * HashRounds::kChunk, 9);
  TempFile file("ripe-big", big);
  auto hasher = std::make_shared<StreamHasher>(file.fd(), true, std::vector<uint64_t>(), "", rounds);
  for (uint64_t off = 0; off < 5 * kQuarter; off += kQuarter) {
    EXPECT_EQ(kept.kept(), off < 4 * kQuarter ? 0u : 1u) << off;
    hasher->RangeDone(off, kQuarter);
  }
  kept.RunKept();
  EXPECT_EQ(rounds->counts().bytes, 400000u + HashRounds::kChunk);
  auto digest = hasher->Finish();  // the quarter left in a round, the rest read at the end
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->md5, s3::Md5Hex(big));
  EXPECT_EQ(rounds->counts().bytes, 400000u + 5 * kQuarter);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(hashers[i]->Finish()->md5, s3::Md5Hex(datas[i]));
}

// Objects that have landed wait to share their last round: none starts until `batch`
// of them wait, then one round hashes them all, and each gets its digest. A stream with
// nothing left in line gets its digest from a task of its own.
TEST(StreamHasher, LandedStreamsWaitToShareARound) {
  Background kept(false);
  auto rounds = std::make_shared<HashRounds>(kept.schedule(), 16);
  rounds->Gather([] { return size_t{4}; }, std::chrono::seconds(600));
  std::vector<std::string> datas;
  std::vector<std::unique_ptr<TempFile>> files;
  std::vector<std::shared_ptr<StreamHasher>> hashers;
  std::vector<std::optional<Result<FileDigest>>> digests(5);
  for (int i = 0; i < 5; ++i) {
    datas.push_back(riptide::testing::RandomBytes(100000 + i, static_cast<uint32_t>(300 + i)));
    files.push_back(std::make_unique<TempFile>("landed-" + std::to_string(i), datas.back()));
    hashers.push_back(std::make_shared<StreamHasher>(files.back()->fd(), true, std::vector<uint64_t>(), "", rounds));
    if (i < 4) hashers.back()->RangeDone(0, datas.back().size());
  }
  for (int i = 0; i < 4; ++i) {
    hashers[i]->WhenDone([&digests, i](Result<FileDigest> d) { digests[i] = std::move(d); });
    EXPECT_EQ(kept.kept(), i < 3 ? 0u : 1u) << "streams waiting: " << i + 1;
  }
  EXPECT_FALSE(digests[0].has_value());
  kept.RunKept();
  EXPECT_EQ(rounds->counts().rounds, 1u);
  EXPECT_EQ(rounds->counts().widest, 4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(digests[i].has_value() && digests[i]->ok()) << i;
    EXPECT_EQ((*digests[i])->md5, s3::Md5Hex(datas[i])) << i;
  }
  // The fifth never told of a range: its bytes are read from the file, on a task.
  hashers[4]->WhenDone([&digests](Result<FileDigest> d) { digests[4] = std::move(d); });
  EXPECT_FALSE(digests[4].has_value());
  EXPECT_EQ(kept.kept(), 1u);
  kept.RunKept();
  ASSERT_TRUE(digests[4].has_value() && digests[4]->ok());
  EXPECT_EQ((*digests[4])->md5, s3::Md5Hex(datas[4]));
  EXPECT_EQ(rounds->counts().rounds, 1u);
}

// A landed stream that no others join is hashed once it has waited the linger, not
// before, and not never.
TEST(StreamHasher, ALandedStreamLeftAloneIsHashedAfterTheLinger) {
  Background background;
  auto rounds = std::make_shared<HashRounds>(background.schedule(), 16);
  constexpr auto kLinger = std::chrono::milliseconds(50);
  rounds->Gather([] { return size_t{8}; }, kLinger);
  // Twice: once a late round has hashed them, the streams that wait next wait again.
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    const std::string data = riptide::testing::RandomBytes(200000, 11 + i);
    TempFile file("alone-" + std::to_string(i), data);
    auto hasher = std::make_shared<StreamHasher>(file.fd(), true, std::vector<uint64_t>(), "", rounds);
    hasher->RangeDone(0, data.size());
    std::promise<Result<FileDigest>> promise;
    const auto start = std::chrono::steady_clock::now();
    hasher->WhenDone([&promise](Result<FileDigest> d) { promise.set_value(std::move(d)); });
    auto digest = riptide::testing::ReturnsWithin(std::chrono::seconds(10), "a lone landed stream's digest",
                                                  [&] { return promise.get_future().get(); });
    EXPECT_GE(std::chrono::steady_clock::now() - start, kLinger);
    ASSERT_TRUE(digest.ok());
    EXPECT_EQ(digest->md5, s3::Md5Hex(data));
    EXPECT_EQ(rounds->counts().rounds, static_cast<uint64_t>(i + 1));
  }
  rounds->Close();
}

// An owner that lets go of its rounds without closing them, while a landed stream waits:
// the stream and the rounds hold each other until the lingerer hashes it, and the rounds
// end there, on the lingerer's own thread.
TEST(StreamHasher, RoundsLeftWithAWaitingStreamEndOnTheLingerer) {
  Background background;
  auto rounds = std::make_shared<HashRounds>(background.schedule(), 16);
  rounds->Gather([] { return size_t{8}; }, std::chrono::milliseconds(20));
  const std::string data = riptide::testing::RandomBytes(100000, 21);
  TempFile file("left", data);
  auto hasher = std::make_shared<StreamHasher>(file.fd(), true, std::vector<uint64_t>(), "", rounds);
  hasher->RangeDone(0, data.size());
  std::promise<Result<FileDigest>> promise;
  hasher->WhenDone([&promise](Result<FileDigest> d) { promise.set_value(std::move(d)); });
  std::weak_ptr<HashRounds> left = rounds;
  rounds.reset();
  hasher.reset();
  auto digest = riptide::testing::ReturnsWithin(std::chrono::seconds(10), "the waiting stream's digest",
                                                [&] { return promise.get_future().get(); });
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->md5, s3::Md5Hex(data));
  riptide::testing::ReturnsWithin(std::chrono::seconds(10), "the rounds' end", [&] {
    while (!left.expired()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return true;
  });
}

// A run that ends with streams still in line (a cancel) lets go of them: the rounds and
// their streams hold each other only while a stream waits.
TEST(StreamHasher, ClosedRoundsLetGoOfTheStreamsInLine) {
  Background never(false);
  auto rounds = std::make_shared<HashRounds>(never.schedule());
  const std::string data = riptide::testing::RandomBytes(100000, 4);
  TempFile file("closed", data);
  auto hasher = std::make_shared<StreamHasher>(file.fd(), true, std::vector<uint64_t>(), "", rounds);
  hasher->RangeDone(0, data.size());
  EXPECT_EQ(hasher.use_count(), 2) << "in line";
  rounds->Close();
  EXPECT_EQ(hasher.use_count(), 1);
  auto digest = hasher->Finish();  // out of line: read from the file itself
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->md5, s3::Md5Hex(data));
  EXPECT_EQ(rounds->counts().bytes, 0u);
}

// An abandoned stream leaves the line unhashed; one whose file is shorter than its
// ranges claim fails instead of waiting for bytes that never come.
TEST(StreamHasher, AbandonedStreamsAreNotHashedAndShortOrUnreadableFilesFail) {
  Background kept(false);
  auto rounds = std::make_shared<HashRounds>(kept.schedule(), 1);  // one stream is a round
  const std::string data = riptide::testing::RandomBytes(300000, 3);
  TempFile file("abandoned", data);
  auto abandoned = std::make_shared<StreamHasher>(file.fd(), true, std::vector<uint64_t>(), "", rounds);
  abandoned->RangeDone(0, data.size());
  EXPECT_EQ(kept.kept(), 1u);
  abandoned->Abandon();
  kept.RunKept();
  EXPECT_EQ(rounds->counts().bytes, 0u);
  EXPECT_EQ(rounds->counts().rounds, 0u);

  // A chunk read in one slice (100,000 bytes) and in two (300,000: slices are 256 KiB).
  for (const size_t size : {data.size(), size_t{100000}}) {
    SCOPED_TRACE(size);
    TempFile short_file("short", data.substr(0, 1000));
    auto hasher = std::make_shared<StreamHasher>(short_file.fd(), true, std::vector<uint64_t>(), "", rounds);
    hasher->RangeDone(0, size);
    auto digest = hasher->Finish();
    ASSERT_FALSE(digest.ok());
    EXPECT_NE(digest.error().message.find("shorter"), std::string::npos) << digest.error().message;

    // A file that cannot be read (here: open for writing only) fails the stream too;
    // verify then reads the file its own way.
    const std::string path = (std::filesystem::temp_directory_path() / "riptide-stream-unreadable").string();
    const int write_only = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(write_only, 0);
    ASSERT_EQ(::pwrite(write_only, data.data(), size, 0), static_cast<ssize_t>(size));
    auto unreadable = std::make_shared<StreamHasher>(write_only, true, std::vector<uint64_t>(), "", rounds);
    unreadable->RangeDone(0, size);
    auto failed = unreadable->Finish();
    ::close(write_only);
    std::filesystem::remove(path);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("cannot read"), std::string::npos) << failed.error().message;
  }
}

}  // namespace
}  // namespace riptide::engine
