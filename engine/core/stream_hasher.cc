#include "engine/core/stream_hasher.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "engine/core/md5_lanes.h"
#include "engine/core/read_at.h"

namespace riptide::engine {
namespace {

// A round's streams are read a slice at a time, each into its own part of the thread's
// buffer (kLanes × kSlice, reused; only the pages used are ever touched), and hashed
// there while it is in cache. Not mapped: on this VM, XXH3 read a mapped chunk of the
// page cache at 1.8-2.4 GB/s and a copied one at 6.8-9.3, the copy included, and MD5 then
// read it again (perf/RESULTS.md, "Copied, not mapped"). Slices, not whole chunks: a
// round's MD5 lanes run once all its streams' slices are in, and sixteen slices of a
// quarter MiB stay in the cache where sixteen MiB would not.
constexpr uint64_t kSlice = 256 << 10;

char* SliceBuffer(size_t stream) {
  thread_local const std::unique_ptr<char[]> buffer = std::make_unique_for_overwrite<char[]>(md5::kLanes * kSlice);
  return buffer.get() + stream * kSlice;
}

// Reads [from, to) of `fd` into `buffer`; a stream that cannot be read fails out of the
// rounds, and verify reads the file itself (DigestFile).
std::optional<Error> ReadSlice(int fd, uint64_t from, uint64_t to, char* buffer) {
  const ssize_t n = ReadAt(fd, buffer, static_cast<size_t>(to - from), from);
  if (n < 0) return MakeError(ErrorCode::kIo, std::string("cannot read a downloaded file: ") + std::strerror(errno));
  if (static_cast<uint64_t>(n) < to - from) {
    return MakeError(ErrorCode::kIo, "a downloaded file is shorter than the ranges written to it");
  }
  return std::nullopt;
}

}  // namespace

HashRounds::Counts HashRounds::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

HashRounds::~HashRounds() { Close(); }

bool HashRounds::Ripe() const {
  // Streams waiting for their last round are in line too: a kernel call's width of them
  // is ripe here whatever the batch.
  if (ready_.size() >= width_ || backlog_ >= backlog_limit_) return true;
  return waiting_ > 0 && (overdue_ || waiting_ >= std::max<size_t>(1, batch_()));
}

void HashRounds::Gather(std::function<size_t()> batch, std::chrono::milliseconds linger) {
  batch_ = std::move(batch);
  linger_ = linger;
  lingerer_ = std::thread([this] { Linger(); });
}

void HashRounds::Waits() {
  if (waiting_++ == 0) {
    first_waiting_ = std::chrono::steady_clock::now();
    linger_cv_.notify_one();
  }
}

void HashRounds::Linger() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closing_) {
    if (waiting_ == 0 || overdue_) {
      linger_cv_.wait(lock);
    } else if (std::chrono::steady_clock::now() < first_waiting_ + linger_) {
      linger_cv_.wait_until(lock, first_waiting_ + linger_);
    } else {
      // Too few streams came to fill a round: hash those waiting as they are, here.
      overdue_ = true;
      if (NeedsDrain()) {
        // Held, and let go, only outside the lock: its end takes the lock in Close.
        std::shared_ptr<HashRounds> self = weak_from_this().lock();
        if (!self) return;  // ending already: the destructor's Close joins this thread
        lock.unlock();
        Drain();
        // The streams hashed may have held the last other references: if this one is
        // the last, the rounds end right here (Close lets this thread go) and it returns.
        std::weak_ptr<HashRounds> still = self;
        self.reset();
        if (still.expired()) return;
        lock.lock();
      }
    }
  }
}

bool HashRounds::NeedsDrain() {
  if (draining_ || ready_.empty() || !Ripe()) return false;
  draining_ = true;
  return true;
}

void HashRounds::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  linger_cv_.notify_one();
  if (lingerer_.joinable()) {
    if (lingerer_.get_id() == std::this_thread::get_id()) {
      lingerer_.detach();  // the last reference went on the lingerer: Linger returns next
    } else {
      lingerer_.join();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& h : ready_) {
    std::lock_guard<std::mutex> own(h->mu_);
    h->queued_ = false;
    backlog_ -= h->contiguous_ - h->hashed_;
  }
  ready_.clear();
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
  if (!first && !Ripe()) {
    draining_ = false;  // what waits is left for more streams, more bytes, or Finish
    return round;
  }
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
      backlog_ -= h->contiguous_ - h->hashed_;
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
  std::vector<md5::Lane> lanes;
  for (uint64_t at = 0; at < kChunk; at += kSlice) {
    bool any = false;
    for (size_t i = 0; i < round.size(); ++i) {
      Item& item = round[i];
      const uint64_t from = item.from + at;
      if (item.error || from >= item.to) continue;
      const uint64_t to = std::min(item.to, from + kSlice);
      char* slice = SliceBuffer(i);
      if (auto error = ReadSlice(item.hasher->fd_, from, to, slice)) {
        item.error = std::move(error);  // its later slices are not read: the stream fails out
        continue;
      }
      item.read += to - from;
      any = true;
      // XXH3 and checksums now; the MD5 blocks wait for the lanes, over every stream's slice.
      item.hasher->state_.Update(slice, static_cast<size_t>(to - from), &lanes);
    }
    if (!any) return;
    // Longest first: the lanes of one kernel call then have similar lengths to run.
    std::sort(lanes.begin(), lanes.end(), [](const md5::Lane& a, const md5::Lane& b) { return a.blocks > b.blocks; });
    md5::Compress(lanes.data(), static_cast<int>(lanes.size()));
    lanes.clear();
  }
}

void HashRounds::Settle(std::vector<Item>& round) {
  bool start = false;
  std::vector<std::pair<std::shared_ptr<StreamHasher>, std::function<void(Result<FileDigest>)>>> done;
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
      } else {
        h.hashed_ += item.read;
        backlog_ -= item.read;
        counts_.bytes += item.read;
      }
      if (!h.closed_ && !h.error_ && h.contiguous_ > h.hashed_) {
        ready_.push_back(item.hasher);  // the back of the line: every ready stream has its turn
      } else {
        h.queued_ = false;
        backlog_ -= h.contiguous_ - h.hashed_;
        if (h.then_) {
          done.emplace_back(item.hasher, std::move(h.then_));
          h.then_ = nullptr;
          if (--waiting_ == 0) overdue_ = false;
        }
      }
      h.cv_.notify_all();
    }
    // Ripe streams left after a round that Finish drove get a drain task of their own.
    start = NeedsDrain();
  }
  if (start) StartDrain();
  for (auto& [hasher, then] : done) then(hasher->Finish());  // out of line now: no round to drive
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
    const uint64_t before = contiguous_;
    uint64_t& end = ranges_[offset];
    end = std::max(end, offset + length);
    // Absorb every range that now touches the contiguous prefix (in order of their starts).
    for (auto it = ranges_.begin(); it != ranges_.end() && it->first <= contiguous_; it = ranges_.erase(it)) {
      contiguous_ = std::max(contiguous_, it->second);
    }
    if (queued_) {
      rounds_->backlog_ += contiguous_ - before;
    } else if (!closed_ && !error_ && contiguous_ > hashed_) {
      queued_ = true;
      rounds_->ready_.push_back(shared_from_this());
      rounds_->backlog_ += contiguous_ - hashed_;
    }
    start = rounds_->NeedsDrain();
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

void StreamHasher::WhenDone(std::function<void(Result<FileDigest>)> then) {
  bool waits = false, start = false;
  {
    std::lock_guard<std::mutex> lock(rounds_->mu_);
    std::lock_guard<std::mutex> own(mu_);
    if (queued_) {
      waits = true;
      then_ = std::move(then);
      rounds_->Waits();
      start = rounds_->NeedsDrain();
    }
  }
  if (!waits) {
    // Nothing left in line: what the ranges did not cover is read off the landing thread.
    rounds_->schedule_([self = shared_from_this(), then = std::move(then)] { then(self->Finish()); });
  } else if (start) {
    rounds_->StartDrain();
  }
}

void StreamHasher::Abandon() {
  std::unique_lock<std::mutex> own(mu_);
  closed_ = true;
  cv_.wait(own, [this] { return !running_; });
}

}  // namespace riptide::engine
