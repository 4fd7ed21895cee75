// The state of one running cell of `riptide bench` (engine/bench/bench.h), shared by
// its request side (bench_cell.cc: what each request is, what its answer does) and its
// loop (cell_run.cc: requests kept in flight, the clock, the figures).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/bench/bench.h"

namespace riptide::engine::bench {

using Clock = std::chrono::steady_clock;

// What one request is: a GET of a part, a PUT, or a step of a multipart upload.
struct Item {
  enum class Kind { kGet, kPut, kCreate, kPart, kComplete } kind;
  size_t object = 0;
  int part = 0;  // 0-based
};

class CellRun : public std::enable_shared_from_this<CellRun> {
 public:
  CellRun(const ListTarget& target, const std::vector<s3::ObjectInfo>& objects, const Cell& cell,
          const CellOptions& options, const std::atomic<bool>& stop);
  ~CellRun();
  CellResult Run(const CellProgress& progress);

  // From the transport's thread.
  void Headers(double ttfb_ms) {
    std::lock_guard<std::mutex> lock(mu_);
    ttfb_ms_.push_back(ttfb_ms);
  }
  void Body(const Item& item, uint64_t offset, std::string_view chunk);
  void Done(const Item& item, const http::Response& response);
  void Failed(const Item& item, const Error& e, int attempts);

 private:
  struct Object {
    uint64_t size = 0, part_size = 0;
    int parts = 1, left = 1;
    int fd = -1;
    std::string path;  // --to: the file the body goes into
    std::string key, upload_id;
    std::vector<std::string> etags;
    bool failed = false;
  };
  bool Next(Item* item);  // with mu_ held
  void Submit(const Item& item, int attempts, std::chrono::milliseconds delay);
  http::Request Make(const Item& item);
  void Finish();  // a request is over; with mu_ held
  // The loop's steps, with mu_ held (`lock` is released around calls out).
  void CheckPushback();  // ends the cell when too many requests are pushed back
  void Fill(std::unique_lock<std::mutex>& lock);  // starts requests while there is room
  void Show(std::unique_lock<std::mutex>& lock, const CellProgress& progress, Clock::time_point started);
  double SyncWritten() const;  // --to: syncs what was written; the seconds it took
  std::shared_ptr<const std::string> BodyOf(uint64_t size);

  const ListTarget& target_;
  const std::vector<s3::ObjectInfo>& sample_;
  const Cell cell_;
  const CellOptions& options_;
  const std::atomic<bool>& stop_;
  std::string random_;                          // upload bodies are slices of it
  std::shared_ptr<const std::string> full_part_;  // every full upload part is this one
  std::string full_part_md5_;
  std::mutex mu_;  // guards what follows
  std::condition_variable cv_;
  std::vector<Object> objects_;
  std::deque<Item> ready_;
  struct Retry {
    Item item;
    int attempts;
    Clock::time_point due;
  };
  std::vector<Retry> retries_;  // sent again by the loop once due
  size_t next_object_ = 0;
  int in_flight_ = 0;
  bool stopping_ = false;
  CellResult result_;
  std::vector<double> ttfb_ms_;
  Clock::time_point last_done_;
};

}  // namespace riptide::engine::bench
