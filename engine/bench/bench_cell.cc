// One cell of `riptide bench`, the request side: what each request is (a ranged GET, a
// PUT, a step of a multipart upload) and what its answer does to the cell.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

#include "engine/bench/cell_run.h"
#include "planner/copy_plan.h"
#include "transport/s3/crypto.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"

namespace riptide::engine::bench {
namespace {

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

}  // namespace

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
    if (!o.path.empty()) unlink(o.path.c_str());  // --to: written and synced, then gone
  }
}

std::shared_ptr<const std::string> CellRun::BodyOf(uint64_t size) {
  return std::make_shared<const std::string>(random_.data(), static_cast<size_t>(std::min<uint64_t>(size, random_.size())));
}

bool CellRun::Next(Item* item) {
  if (ready_.empty() && next_object_ < objects_.size()) {
    // The next object of the sample: its parts (downloads) or its first request (uploads).
    const size_t i = next_object_++;
    Object& o = objects_[i];
    if (cell_.upload) {
      ready_.push_back({o.parts > 1 ? Item::Kind::kCreate : Item::Kind::kPut, i, 0});
    } else {
      if (!options_.to_dir.empty()) {
        // Kept (and so written back) until the cell's sync; removed with the cell.
        o.path = options_.to_dir + "/riptide-bench-" + std::to_string(getpid()) + "-" + std::to_string(i);
        o.fd = open(o.path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        if (o.fd < 0) {
          result_.errors++;
          result_.stopped = "cannot write into " + options_.to_dir + ": " + std::strerror(errno);
          o.path.clear();
          stopping_ = true;
          return false;
        }
      }
      for (int p = 0; p < o.parts; ++p) ready_.push_back({Item::Kind::kGet, i, p});
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
      o.upload_id.clear();  // no longer open
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
    // Sent again from the cell's loop, never from here: an upload body is built and
    // hashed in Make, which is no work for the transport's thread.
    retries_.push_back({item, attempts, Clock::now() + *delay});
  }
  cv_.notify_all();
}

void CellRun::Finish() {
  in_flight_--;
  cv_.notify_all();
}

}  // namespace riptide::engine::bench
