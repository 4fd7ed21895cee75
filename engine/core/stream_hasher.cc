#include "engine/core/stream_hasher.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/core/md5_lanes.h"

namespace riptide::engine {
namespace {

constexpr uint64_t kChunk = 128 << 10;  // a stream's share of a round: 16 of them stay in L2/L3

// Reads [at, at + size) of `fd` into `p`: the bytes read (fewer at the end of the file).
Result<uint64_t> ReadAt(int fd, char* p, uint64_t size, uint64_t at) {
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, p + done, static_cast<size_t>(size - done), static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return MakeError(ErrorCode::kIo, std::string("reading back a downloaded file: ") + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  return done;
}

}  // namespace

HashRounds::Counts HashRounds::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

bool HashRounds::Enqueue(std::shared_ptr<StreamHasher> hasher) {
  hasher->queued_ = true;
  ready_.push_back(std::move(hasher));
  if (draining_) return false;
  draining_ = true;
  return true;
}

void HashRounds::StartDrain() {
  schedule_([self = shared_from_this()] { self->Drain(); });
}

void HashRounds::Drain() {
  for (;;) {
    std::vector<Item> round = Take(nullptr);
    if (round.empty()) return;  // Take ended the drain under the lock
    Run(round);
    Settle(round);
  }
}

std::vector<HashRounds::Item> HashRounds::Take(StreamHasher* first) {
  std::vector<Item> round;
  std::lock_guard<std::mutex> lock(mu_);
  if (first) {
    auto it = std::find_if(ready_.begin(), ready_.end(), [first](const auto& h) { return h.get() == first; });
    if (it == ready_.end()) return round;  // in another thread's round now
    std::shared_ptr<StreamHasher> own = std::move(*it);
    ready_.erase(it);
    ready_.push_front(std::move(own));
  }
  while (round.size() < static_cast<size_t>(md5::kLanes) && !ready_.empty()) {
    std::shared_ptr<StreamHasher> h = std::move(ready_.front());
    ready_.pop_front();
    std::lock_guard<std::mutex> own(h->mu_);
    if (h->closed_) {
      h->queued_ = false;
      continue;
    }
    h->running_ = true;
    Item item;
    item.from = h->hashed_;
    item.to = std::min(h->contiguous_, h->hashed_ + kChunk);
    item.hasher = std::move(h);
    round.push_back(std::move(item));
  }
  if (round.empty() && !first) draining_ = false;
  return round;
}

void HashRounds::Run(std::vector<Item>& round) {
  thread_local std::vector<char> buffer(md5::kLanes * kChunk);
  std::vector<md5::Lane> lanes;
  for (size_t i = 0; i < round.size(); ++i) {
    Item& item = round[i];
    char* p = buffer.data() + i * kChunk;
    Result<uint64_t> read = ReadAt(item.hasher->fd_, p, item.to - item.from, item.from);
    if (!read.ok()) {
      item.error = read.error();
      continue;
    }
    item.read = *read;
    // XXH3 and checksums now, while the chunk is in cache; the MD5 blocks wait for the lanes.
    item.hasher->state_.Update(p, static_cast<size_t>(item.read), &lanes);
  }
  // Longest first: the lanes of one kernel call then have similar lengths to run.
  std::sort(lanes.begin(), lanes.end(), [](const md5::Lane& a, const md5::Lane& b) { return a.blocks > b.blocks; });
  md5::Compress(lanes.data(), static_cast<int>(lanes.size()));
}

void HashRounds::Settle(std::vector<Item>& round) {
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.rounds;
    counts_.streams += round.size();
    counts_.widest = std::max(counts_.widest, static_cast<int>(round.size()));
    for (Item& item : round) {
      StreamHasher& h = *item.hasher;
      std::lock_guard<std::mutex> own(h.mu_);
      h.running_ = false;
      if (item.error) {
        h.error_ = std::move(item.error);
      } else if (item.read < item.to - item.from) {
        h.error_ = MakeError(ErrorCode::kIo, "a downloaded file is shorter than the ranges written to it");
      } else {
        h.hashed_ += item.read;
        counts_.bytes += item.read;
      }
      if (!h.closed_ && !h.error_ && h.contiguous_ > h.hashed_) {
        ready_.push_back(item.hasher);  // the back of the line: every ready stream has its turn
      } else {
        h.queued_ = false;
      }
      h.cv_.notify_all();
    }
    // Streams left waiting after a round that Finish drove get a drain task of their own.
    if (!ready_.empty() && !draining_) start = draining_ = true;
  }
  if (start) StartDrain();
}

StreamHasher::StreamHasher(int fd, bool with_md5, std::vector<uint64_t> part_lengths, const std::string& checksum,
                           std::shared_ptr<HashRounds> rounds)
    : fd_(::dup(fd)), checksum_(checksum), rounds_(std::move(rounds)),
      state_(with_md5, std::move(part_lengths), checksum) {}

StreamHasher::~StreamHasher() {
  if (fd_ >= 0) ::close(fd_);
}

void StreamHasher::RangeDone(uint64_t offset, uint64_t length) {
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(rounds_->mu_);
    std::lock_guard<std::mutex> own(mu_);
    ranges_.emplace_back(offset, offset + length);
    // Absorb every range that now touches the contiguous prefix.
    for (bool grew = true; grew;) {
      grew = false;
      for (size_t i = 0; i < ranges_.size(); ++i) {
        if (ranges_[i].first <= contiguous_) {
          contiguous_ = std::max(contiguous_, ranges_[i].second);
          ranges_[i] = ranges_.back();
          ranges_.pop_back();
          grew = true;
          break;
        }
      }
    }
    if (!queued_ && !closed_ && !error_ && contiguous_ > hashed_) start = rounds_->Enqueue(shared_from_this());
  }
  if (start) rounds_->StartDrain();
}

Result<FileDigest> StreamHasher::Finish() {
  // Drive rounds (this stream first, others beside it) until nothing of it is in line;
  // wait only for a round another thread is running now.
  for (;;) {
    {
      std::unique_lock<std::mutex> own(mu_);
      if (!queued_) {
        closed_ = true;
        if (error_) return *error_;
        break;
      }
      if (running_) {
        cv_.wait(own, [this] { return !running_; });
        continue;
      }
    }
    std::vector<HashRounds::Item> round = rounds_->Take(this);
    if (round.empty()) continue;  // taken by another round in between: wait for it above
    rounds_->Run(round);
    rounds_->Settle(round);
  }
  auto read = state_.UpdateFromFile(fd_, hashed_, UINT64_MAX);
  if (!read.ok()) return read.error();
  return state_.Finish();
}

void StreamHasher::Abandon() {
  std::unique_lock<std::mutex> own(mu_);
  closed_ = true;
  cv_.wait(own, [this] { return !running_; });
}

}  // namespace riptide::engine
