// Hashing objects while they arrive, many side by side. One MD5 stream is sequential,
// but a run has dozens of objects landing at once: each round of HashRounds takes up to
// 16 streams with bytes on disk not yet hashed, reads the next chunk of each (from the
// page cache), and advances all their MD5s in one pass of the lanes (md5_lanes.h);
// XXH3 and any additional checksum stay per stream. An object that has landed whole
// can wait for others to share its last round (WhenDone): small objects land one at a
// time, and hashed at once each ran nearly alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/hashing.h"
#include "engine/core/md5_lanes.h"

namespace riptide::engine {

class StreamHasher;

/// The rounds of one run. A background task runs rounds while they are ripe: at least
/// `width` streams ready (a full kernel call: 8 with AVX2, 16 with AVX-512, 1 without
/// lanes) or `backlog` bytes waiting in all. Hashing at once, stream by stream, would
/// keep up with the network but leave the lanes empty; the bytes wait in the page cache.
/// StreamHasher::Finish drives rounds itself until its stream is done, taking every ready
/// stream along: no thread ever waits on a task that has not started.
class HashRounds : public std::enable_shared_from_this<HashRounds> {
 public:
  using Schedule = std::function<void(std::function<void()>)>;
  static constexpr uint64_t kBacklog = 64 << 20;
  static constexpr uint64_t kChunk = 1 << 20;  // a stream's share of a round
  /// `schedule` runs a task off the network thread (the graph's arena).
  explicit HashRounds(Schedule schedule, int width = md5::Width(), uint64_t backlog = kBacklog)
      : schedule_(std::move(schedule)), width_(width), backlog_limit_(backlog) {}
  ~HashRounds();
  /// Streams whose object has landed (StreamHasher::WhenDone) wait to share a round: one
  /// starts once `batch()` of them wait, or `linger` after the first of them began to.
  /// Until this is called, each starts a round at once.
  void Gather(std::function<size_t()> batch, std::chrono::milliseconds linger);
  /// Lets go of the streams still in line (a run that ends without verifying them).
  void Close();

  struct Counts {
    uint64_t rounds = 0;
    uint64_t streams = 0;  // stream chunks hashed, summed over the rounds
    uint64_t bytes = 0;    // hashed in rounds (Finish hashes what is left past the ranges)
    int widest = 0;        // most streams in one round
  };
  Counts counts() const;

 private:
  friend class StreamHasher;
  struct Item {
    std::shared_ptr<StreamHasher> hasher;
    uint64_t from = 0, to = 0;
    uint64_t read = 0;           // bytes of [from, to) hashed
    std::optional<Error> error;  // reading them failed
  };
  /// The next round's streams, `first` among them if it is ready (none if it is not).
  std::vector<Item> Take(StreamHasher* first);
  void Run(std::vector<Item>& round);
  /// Ends a round: each stream goes back in line if it has more ready, and a background
  /// task is started if none runs while streams wait.
  void Settle(std::vector<Item>& round);
  bool Ripe() const;  // mu_ held
  /// Whether a drain task must be started now (mu_ held): rounds are ripe and none runs.
  bool NeedsDrain();
  void StartDrain();
  void Drain();
  void Waits();   // mu_ held: one more stream waits for its last round
  void Linger();  // the thread that runs the rounds of streams that waited `linger_`

  Schedule schedule_;
  const size_t width_;
  const uint64_t backlog_limit_;
  mutable std::mutex mu_;  // taken before any stream's own
  std::deque<std::shared_ptr<StreamHasher>> ready_;
  uint64_t backlog_ = 0;   // bytes on disk not yet hashed, over the streams in line or in a round
  bool draining_ = false;  // a drain task is queued or running
  Counts counts_;
  std::function<size_t()> batch_ = [] { return size_t{1}; };  // set once by Gather, before any stream
  std::chrono::milliseconds linger_{0};
  size_t waiting_ = 0;                 // streams in line whose object has landed
  bool overdue_ = false;               // some waited `linger_`: rounds are ripe until none wait
  std::chrono::steady_clock::time_point first_waiting_;
  bool closing_ = false;
  std::condition_variable linger_cv_;
  std::thread lingerer_;
};

/// Hashes a file while its ranges are still being written: each completed range that
/// extends the contiguous prefix makes the stream ready for a round, so verifying an
/// object costs only what is left once its last byte lands.
class StreamHasher : public std::enable_shared_from_this<StreamHasher> {
 public:
  /// `fd` is dup'ed.
  StreamHasher(int fd, bool with_md5, std::vector<uint64_t> part_lengths, const std::string& checksum,
               std::shared_ptr<HashRounds> rounds);
  ~StreamHasher();
  /// The additional checksum this hasher computes ("" for none).
  const std::string& checksum() const { return checksum_; }
  /// [offset, offset + length) is on disk: a whole range, or the start of one still
  /// arriving (told again as it grows). Any thread; never blocks on hashing.
  void RangeDone(uint64_t offset, uint64_t length);
  /// Hashes what is ready in rounds (beside other streams), then whatever is left from
  /// the file itself.
  Result<FileDigest> Finish();
  /// The object has landed whole: `then` gets the digest once a round has hashed the
  /// rest of it beside other streams (HashRounds::Gather), on a background task or here.
  void WhenDone(std::function<void(Result<FileDigest>)> then);
  /// The digest is not wanted: no more rounds for this stream (waits for one running).
  void Abandon();

 private:
  friend class HashRounds;
  int fd_;
  std::string checksum_;
  std::shared_ptr<HashRounds> rounds_;
  std::mutex mu_;
  std::condition_variable cv_;
  DigestState state_;                                  // touched only by whoever holds `running_`
  std::map<uint64_t, uint64_t> ranges_;  // guarded: start -> end on disk, past the contiguous prefix
  uint64_t contiguous_ = 0;                            // guarded: bytes from 0 known on disk
  uint64_t hashed_ = 0;                                // guarded: bytes from 0 fed to state_
  bool queued_ = false;   // guarded (with the rounds' lock too): in line or in a round
  bool running_ = false;  // guarded (likewise): a round is hashing a chunk of it now
  bool closed_ = false;   // guarded: finished or abandoned, no more rounds
  std::function<void(Result<FileDigest>)> then_;  // guarded (and the rounds' lock): WhenDone's
  std::optional<Error> error_;  // guarded
};

}  // namespace riptide::engine
