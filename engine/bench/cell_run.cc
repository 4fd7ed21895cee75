// One cell of `riptide bench`, the loop: exactly the cell's concurrency in flight until
// its time is up, its sample is done or the server pushes back too often; the figures.
#include "engine/bench/cell_run.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace riptide::engine::bench {
namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double Since(Clock::time_point t, Clock::time_point now = Clock::now()) {
  return std::chrono::duration<double>(now - t).count();
}

}  // namespace

void CellRun::CheckPushback() {
  const uint64_t pushed_back = result_.slowdowns + result_.errors;
  if (stopping_ || result_.requests < 20 ||
      static_cast<double>(pushed_back) <= options_.give_up_share * static_cast<double>(result_.requests)) {
    return;
  }
  result_.stopped = std::to_string(pushed_back) + " of " + std::to_string(result_.requests) +
                    " requests answered SlowDown or failed";
  stopping_ = true;
}

void CellRun::Fill(std::unique_lock<std::mutex>& lock) {
  // Retries due (they hold their slots); once stopping, they end unsent.
  const auto now = Clock::now();
  std::vector<Retry> due;
  for (auto it = retries_.begin(); it != retries_.end();) {
    if (stopping_ || it->due <= now) {
      due.push_back(*it);
      it = retries_.erase(it);
    } else {
      ++it;
    }
  }
  for (const Retry& r : due) {
    if (stopping_) {
      Finish();
      continue;
    }
    lock.unlock();
    Submit(r.item, r.attempts, std::chrono::milliseconds(0));
    lock.lock();
  }
  Item item;
  while (!stopping_ && in_flight_ < cell_.concurrency && Next(&item)) {
    in_flight_++;
    result_.requests++;
    lock.unlock();
    Submit(item, 0, std::chrono::milliseconds(0));
    lock.lock();
  }
}

void CellRun::Show(std::unique_lock<std::mutex>& lock, const CellProgress& progress, Clock::time_point started) {
  if (!progress) return;
  const double by_time = Since(started) / options_.duration_s;
  const double by_sample = static_cast<double>(next_object_) / static_cast<double>(std::max<size_t>(1, objects_.size()));
  CellResult so_far = result_;
  so_far.seconds = Since(started);
  lock.unlock();
  progress(std::min(1.0, std::max(by_time, by_sample)), so_far);
  lock.lock();
}

double CellRun::SyncWritten() const {
  if (options_.to_dir.empty()) return 0;
  const auto started = Clock::now();
  const int dir = open(options_.to_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    syncfs(dir);
    close(dir);
  }
  return Since(started);
}

CellResult CellRun::Run(const CellProgress& progress) {
  const auto started = Clock::now();
  const double cpu_before = CpuSeconds();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options_.duration_s));
  last_done_ = started;
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<CellResult> at_end;
  while (true) {
    const auto now = Clock::now();
    CheckPushback();
    if (stop_ && result_.stopped.empty()) result_.stopped = "interrupted";
    if (stop_ || now >= deadline) stopping_ = true;
    Fill(lock);
    const bool sample_done = next_object_ >= objects_.size() && ready_.empty() && in_flight_ == 0;
    if (stopping_ && !at_end) {  // the figures as they stand when the time is up
      at_end = result_;
      at_end->seconds = Since(started, std::min(now, deadline));
      lock.unlock();
      target_.transport.CancelAll();  // what is still in flight ends now, uncounted
      lock.lock();
    }
    if (in_flight_ == 0 && (stopping_ || sample_done)) break;
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    Show(lock, progress, started);
  }
  if (!at_end) {
    at_end = result_;
    at_end->seconds = Since(started, last_done_);
  }
  at_end->ttfb_p50_ms = Percentile(ttfb_ms_, 0.5);
  at_end->ttfb_p99_ms = Percentile(ttfb_ms_, 0.99);
  for (const auto& o : objects_) {
    if (!o.upload_id.empty()) at_end->open_uploads.push_back({o.key, o.upload_id, 0});
  }
  lock.unlock();
  at_end->seconds += SyncWritten();  // with --to the disk is part of the figure: all of it reaches it
  at_end->cpu_seconds = CpuSeconds() - cpu_before;
  return *at_end;
}

CellResult RunCell(const ListTarget& target, const std::vector<s3::ObjectInfo>& objects, const Cell& cell,
                   const CellOptions& options, const std::atomic<bool>& stop, const CellProgress& progress) {
  auto run = std::make_shared<CellRun>(target, objects, cell, options, stop);
  return run->Run(progress);
}

}  // namespace riptide::engine::bench
