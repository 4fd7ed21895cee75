// One cell of `riptide bench`: a fixed number of requests in flight over a class of the
// sample, for a time, with what each request showed.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <cstring>
#include <random>
#include <utility>

#include "engine/bench/bench.h"
#include "planner/copy_plan.h"
#include "transport/s3/crypto.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"

namespace riptide::engine::bench {
namespace {

using Clock = std::chrono::steady_clock;

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
    std::string key, upload_id;
    std::vector<std::string> etags;
    bool failed = false;
  };
  bool Next(Item* item);  // with mu_ held
  void Submit(const Item& item, int attempts, std::chrono::milliseconds delay);
  http::Request Make(const Item& item);
  void Finish();  // a request is over; with mu_ held
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
  size_t next_object_ = 0;
  int in_flight_ = 0;
  bool stopping_ = false;
  CellResult result_;
  std::vector<double> ttfb_ms_;
  Clock::time_point last_done_;
};

// A response to one request: TTFB, body bytes as they come, the outcome.
class Exchange final : public http::ResponseHandler {
 public:
  Exchange(std::shared_ptr<CellRun> run, Item item, int attempts)
      : run_(std::move(run)), item_(item), attempts_(attempts), started_(Clock::now()) {}
  void OnHeaders(int status, const http::HeaderMap& headers) override {
    response_.status = status;
    response_.headers = headers;
    run_->Headers(std::chrono::duration<double, std::milli>(Clock::now() - started_).count());
  }
  bool OnBody(std::string_view chunk) override {
    if (!s3::IsSuccess(response_.status) || item_.kind != Item::Kind::kGet) {
      if (response_.body.size() < 65536) response_.body.append(chunk.substr(0, 65536 - response_.body.size()));
      return true;
    }
    run_->Body(item_, offset_, chunk);
    offset_ += chunk.size();
    return true;
  }
  void OnComplete() override {
    if (!s3::IsSuccess(response_.status)) return run_->Failed(item_, s3::ErrorFromResponse(response_), attempts_);
    run_->Done(item_, response_);
  }
  void OnFailure(Error e) override { run_->Failed(item_, e, attempts_); }

 private:
  std::shared_ptr<CellRun> run_;
  Item item_;
  int attempts_;
  Clock::time_point started_;
  http::Response response_;
  uint64_t offset_ = 0;
};

CellRun::CellRun(const ListTarget& target, const std::vector<s3::ObjectInfo>& objects, const Cell& cell,
                 const CellOptions& options, const std::atomic<bool>& stop)
    : target_(target), sample_(objects), cell_(cell), options_(options), stop_(stop) {
  result_.cell = cell;
  objects_.resize(sample_.size());
  uint64_t biggest = 0;
  for (size_t i = 0; i < sample_.size(); ++i) {
    Object& o = objects_[i];
    o.size = sample_[i].size;
    const bool whole = cell.size_class == SizeClass::kSmall || o.size <= cell.part_size;
    o.part_size = whole ? std::max<uint64_t>(o.size, 1)
                  : cell.upload ? planner::UploadPartSize(o.size, cell.part_size) : cell.part_size;
    o.parts = static_cast<int>(std::max<uint64_t>(1, (o.size + o.part_size - 1) / o.part_size));
    o.left = o.parts;
    o.key = cell.upload ? options.scratch_prefix + std::to_string(i) : sample_[i].key;
    biggest = std::max(biggest, o.part_size);
  }
  if (cell.upload) {
    std::mt19937_64 rng(7);
    biggest = std::max(biggest, planner::UploadPartSize(kLargeFrom, cell.part_size));
    random_.resize(std::min<uint64_t>(biggest, 5ull << 30));
    for (size_t i = 0; i + 8 <= random_.size(); i += 8) {
      const uint64_t r = rng();
      std::memcpy(&random_[i], &r, 8);
    }
    full_part_ = BodyOf(planner::UploadPartSize(kLargeFrom, cell.part_size));
    full_part_md5_ = s3::Base64Md5(*full_part_);
  }
}

CellRun::~CellRun() {
  for (auto& o : objects_) {
    if (o.fd >= 0) close(o.fd);
  }
}

std::shared_ptr<const std::string> CellRun::BodyOf(uint64_t size) {
  return std::make_shared<const std::string>(random_.data(), static_cast<size_t>(std::min<uint64_t>(size, random_.size())));
}

bool CellRun::Next(Item* item) {
  if (ready_.empty()) {
    // The next object of the sample: its parts (downloads) or its first request (uploads).
    while (next_object_ < objects_.size()) {
      const size_t i = next_object_++;
      Object& o = objects_[i];
      if (cell_.upload) {
        ready_.push_back({o.parts > 1 ? Item::Kind::kCreate : Item::Kind::kPut, i, 0});
        break;
      }
      if (!options_.to_dir.empty()) {
        const std::string path = options_.to_dir + "/riptide-bench-" + std::to_string(i);
        o.fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        if (o.fd < 0) {
          result_.errors++;
          result_.stopped = "cannot write into " + options_.to_dir + ": " + std::strerror(errno);
          stopping_ = true;
          return false;
        }
        unlink(path.c_str());  // the data still lands and is synced; nothing is left behind
      }
      for (int p = 0; p < o.parts; ++p) ready_.push_back({Item::Kind::kGet, i, p});
      break;
    }
  }
  if (ready_.empty()) return false;
  *item = ready_.front();
  ready_.pop_front();
  return true;
}

http::Request CellRun::Make(const Item& item) {
  const Object& o = objects_[item.object];
  const s3::RequestFactory& rq = target_.requests;
  switch (item.kind) {
    case Item::Kind::kGet: {
      if (o.parts == 1) return rq.GetObject(target_.bucket, o.key);
      const uint64_t first = static_cast<uint64_t>(item.part) * o.part_size;
      return rq.GetObject(target_.bucket, o.key, s3::ByteRange{first, std::min(o.size, first + o.part_size) - 1});
    }
    case Item::Kind::kPut: {
      auto body = BodyOf(o.size);
      return rq.PutObject(target_.bucket, o.key, body, s3::Base64Md5(*body));
    }
    case Item::Kind::kCreate:
      return rq.CreateMultipartUpload(target_.bucket, o.key, {});
    case Item::Kind::kPart: {
      const uint64_t first = static_cast<uint64_t>(item.part) * o.part_size;
      const uint64_t length = std::min(o.size, first + o.part_size) - first;
      if (length == o.part_size && full_part_ && full_part_->size() == length) {
        return rq.UploadPart(target_.bucket, o.key, o.upload_id, item.part + 1, full_part_, full_part_md5_);
      }
      auto body = BodyOf(length);
      return rq.UploadPart(target_.bucket, o.key, o.upload_id, item.part + 1, body, s3::Base64Md5(*body));
    }
    case Item::Kind::kComplete:
      return rq.CompleteMultipartUpload(target_.bucket, o.key, o.upload_id, o.etags);
  }
  return {};
}

void CellRun::Submit(const Item& item, int attempts, std::chrono::milliseconds delay) {
  auto exchange = std::make_shared<Exchange>(shared_from_this(), item, attempts + 1);
  target_.transport.Submit(Make(item), exchange, delay);
}

void CellRun::Body(const Item& item, uint64_t offset, std::string_view chunk) {
  Object& o = objects_[item.object];
  if (o.fd >= 0) {
    const uint64_t at = static_cast<uint64_t>(item.part) * o.part_size + offset;
    if (pwrite(o.fd, chunk.data(), chunk.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(chunk.size())) {
      std::lock_guard<std::mutex> lock(mu_);
      if (result_.stopped.empty()) result_.stopped = std::string("cannot write: ") + std::strerror(errno);
      stopping_ = true;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  result_.bytes += chunk.size();
}

void CellRun::Done(const Item& item, const http::Response& response) {
  std::lock_guard<std::mutex> lock(mu_);
  Object& o = objects_[item.object];
  switch (item.kind) {
    case Item::Kind::kCreate: {
      auto id = s3::ParseInitiateMultipartUpload(response.body);
      if (!id.ok()) {
        result_.errors++;
        o.failed = true;
        break;
      }
      o.upload_id = *id;
      o.etags.assign(static_cast<size_t>(o.parts), {});
      for (int p = o.parts - 1; p >= 0; --p) ready_.push_front({Item::Kind::kPart, item.object, p});
      break;
    }
    case Item::Kind::kPart: {
      const uint64_t first = static_cast<uint64_t>(item.part) * o.part_size;
      result_.bytes += std::min(o.size, first + o.part_size) - first;
      o.etags[static_cast<size_t>(item.part)] = response.Header("etag");
      if (--o.left == 0) ready_.push_front({Item::Kind::kComplete, item.object, 0});
      break;
    }
    case Item::Kind::kPut:
      result_.bytes += o.size;
      result_.objects++;
      break;
    case Item::Kind::kComplete:
      result_.objects++;
      break;
    case Item::Kind::kGet:
      if (--o.left == 0) {
        result_.objects++;
        if (o.fd >= 0) close(std::exchange(o.fd, -1));
      }
      break;
  }
  last_done_ = Clock::now();
  Finish();
}

void CellRun::Failed(const Item& item, const Error& e, int attempts) {
  if (e.code == ErrorCode::kCancelled) {
    std::lock_guard<std::mutex> lock(mu_);
    return Finish();
  }
  const bool slowdown = e.http_status == 503 || e.http_status == 429 || e.s3_code == "SlowDown";
  const auto delay = target_.retry.NextTry(e, attempts, stop_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    result_.slowdowns += slowdown;
    result_.timeouts += e.timed_out;
    if (!delay || stopping_) {
      result_.errors++;
      objects_[item.object].failed = true;
      if (result_.stopped.empty() && !delay && e.code != ErrorCode::kServer && e.code != ErrorCode::kNetwork) {
        result_.stopped = e.ToString();  // not the server being busy: no point going on
        stopping_ = true;
      }
      return Finish();
    }
    result_.retries++;
    result_.requests++;
  }
  Submit(item, attempts, *delay);
}

void CellRun::Finish() {
  in_flight_--;
  cv_.notify_all();
}

CellResult CellRun::Run(const CellProgress& progress) {
  const auto started = Clock::now();
  const double cpu_before = CpuSeconds();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options_.duration_s));
  last_done_ = started;
  std::unique_lock<std::mutex> lock(mu_);
  CellResult at_end;
  bool measured = false;
  while (true) {
    const auto now = Clock::now();
    const uint64_t pushed_back = result_.slowdowns + result_.errors;
    if (!stopping_ && result_.requests >= 20 &&
        static_cast<double>(pushed_back) > options_.give_up_share * static_cast<double>(result_.requests)) {
      result_.stopped = std::to_string(pushed_back) + " of " + std::to_string(result_.requests) +
                        " requests answered SlowDown or failed";
      stopping_ = true;
    }
    if (stop_ && result_.stopped.empty()) result_.stopped = "interrupted";
    if (stop_ || now >= deadline) stopping_ = true;
    Item item;
    while (!stopping_ && in_flight_ < cell_.concurrency && Next(&item)) {
      in_flight_++;
      result_.requests++;
      lock.unlock();
      Submit(item, 0, std::chrono::milliseconds(0));
      lock.lock();
    }
    const bool sample_done = next_object_ >= objects_.size() && ready_.empty() && in_flight_ == 0;
    if (stopping_ && !measured) {  // the figures as they stand when the time is up
      at_end = result_;
      at_end.seconds = std::chrono::duration<double>(std::min(now, deadline) - started).count();
      measured = true;
      lock.unlock();
      target_.transport.CancelAll();  // what is still in flight ends now, uncounted
      lock.lock();
    }
    if (in_flight_ == 0 && (stopping_ || sample_done)) break;
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (progress) {
      const double by_time = std::chrono::duration<double>(Clock::now() - started).count() / options_.duration_s;
      const double by_sample = static_cast<double>(next_object_) / static_cast<double>(std::max<size_t>(1, objects_.size()));
      CellResult so_far = result_;
      so_far.seconds = std::chrono::duration<double>(Clock::now() - started).count();
      lock.unlock();
      progress(std::min(1.0, std::max(by_time, by_sample)), so_far);
      lock.lock();
    }
  }
  if (!measured) {
    at_end = result_;
    at_end.seconds = std::chrono::duration<double>(last_done_ - started).count();
  }
  lock.unlock();
  if (!options_.to_dir.empty()) {  // the disk is part of the figure: everything written reaches it
    const int dir = open(options_.to_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      syncfs(dir);
      close(dir);
    }
    at_end.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (measured) at_end.seconds = std::min(at_end.seconds, options_.duration_s);
  }
  at_end.cpu_seconds = CpuSeconds() - cpu_before;
  lock.lock();
  at_end.ttfb_p50_ms = Percentile(ttfb_ms_, 0.5);
  at_end.ttfb_p99_ms = Percentile(ttfb_ms_, 0.99);
  return at_end;
}

}  // namespace

CellResult RunCell(const ListTarget& target, const std::vector<s3::ObjectInfo>& objects, const Cell& cell,
                   const CellOptions& options, const std::atomic<bool>& stop, const CellProgress& progress) {
  auto run = std::make_shared<CellRun>(target, objects, cell, options, stop);
  return run->Run(progress);
}

}  // namespace riptide::engine::bench
