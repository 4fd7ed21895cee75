#include "tests/support/fake_s3.h"

#include <algorithm>

#include "tests/support/fake_s3_internal.h"

namespace riptide::testing {

namespace {
// A connection handed to one job: cancels and counts its own requests only, and on
// destruction waits until none of its requests can call back into the job.
class Connection final : public http::Transport {
 public:
  Connection(FakeS3& store, std::shared_ptr<FakeS3::Scope> scope) : store_(store), scope_(std::move(scope)) {}
  ~Connection() override {
    CancelAll();
    std::unique_lock<std::mutex> lock(scope_->mu);
    scope_->cv.wait(lock, [&] { return scope_->in_flight == 0; });
  }
  void Submit(http::Request request, std::shared_ptr<http::ResponseHandler> handler,
              std::chrono::milliseconds delay) override {
    store_.SubmitFor(scope_, std::move(request), std::move(handler), delay);
  }
  void CancelAll() override { scope_->cancelled = true; }
  uint64_t requests_started() const override { return scope_->started; }

 private:
  FakeS3& store_;
  std::shared_ptr<FakeS3::Scope> scope_;
};
}  // namespace

FakeS3::FakeS3() : own_(std::make_shared<Scope>()) { thread_ = std::thread([this] { Loop(); }); }

FakeS3::~FakeS3() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

http::TransportFactory FakeS3::Factory() {
  return [this](const http::TransportOptions&) -> std::unique_ptr<http::Transport> {
    return std::make_unique<Connection>(*this, std::make_shared<Scope>());
  };
}

void FakeS3::CreateBucket(const std::string& bucket) {
  std::lock_guard<std::mutex> lock(mu_);
  buckets_[bucket];
}

void FakeS3::Put(const std::string& bucket, const std::string& key, std::string data) {
  auto o = std::make_shared<FakeObject>();
  o->last_modified_s = std::time(nullptr);
  o->etag = Md5Hex(data);
  o->data = std::move(data);
  std::lock_guard<std::mutex> lock(mu_);
  buckets_[bucket][key] = std::move(o);
}

void FakeS3::PutMultipart(const std::string& bucket, const std::string& key, std::string data, uint64_t part_size) {
  std::vector<std::string> parts;
  for (uint64_t at = 0; at < data.size() || parts.empty(); at += part_size) parts.push_back(data.substr(at, part_size));
  PutParts(bucket, key, parts);
}

void FakeS3::PutParts(const std::string& bucket, const std::string& key, const std::vector<std::string>& parts) {
  auto o = std::make_shared<FakeObject>();
  o->last_modified_s = std::time(nullptr);
  for (const auto& p : parts) {
    o->data += p;
    o->part_sizes.push_back(p.size());
  }
  o->etag = MultipartEtag(parts);
  std::lock_guard<std::mutex> lock(mu_);
  buckets_[bucket][key] = std::move(o);
}

void FakeS3::Delete(const std::string& bucket, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  buckets_[bucket].erase(key);
}

std::shared_ptr<const FakeObject> FakeS3::Get(const std::string& bucket, const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto b = buckets_.find(bucket);
  if (b == buckets_.end()) return nullptr;
  auto it = b->second.find(key);
  return it == b->second.end() ? nullptr : it->second;
}

std::vector<std::string> FakeS3::Keys(const std::string& bucket) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> keys;
  if (auto b = buckets_.find(bucket); b != buckets_.end()) {
    for (const auto& [k, o] : b->second) keys.push_back(k);
  }
  return keys;
}

void FakeS3::SetHeader(const std::string& bucket, const std::string& key, const std::string& name,
                       std::string value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto copy = std::make_shared<FakeObject>(*buckets_[bucket].at(key));
  copy->headers[name] = std::move(value);
  buckets_[bucket][key] = std::move(copy);
}

void FakeS3::Inject(const std::string& key, Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[key].push_back(fault);
}

void FakeS3::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

std::vector<std::string> FakeS3::Log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

uint64_t FakeS3::BytesServed(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = served_.find(key);
  return it == served_.end() ? 0 : it->second;
}

size_t FakeS3::OpenUploads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return uploads_.size();
}

void FakeS3::Submit(http::Request request, std::shared_ptr<http::ResponseHandler> handler,
                    std::chrono::milliseconds delay) {
  SubmitFor(own_, std::move(request), std::move(handler), delay);
}

void FakeS3::CancelAll() { own_->cancelled = true; }

void FakeS3::SubmitFor(std::shared_ptr<Scope> scope, http::Request request,
                       std::shared_ptr<http::ResponseHandler> handler, std::chrono::milliseconds delay) {
  ++started_;
  ++scope->started;
  {
    std::lock_guard<std::mutex> lock(scope->mu);
    ++scope->in_flight;
  }
  auto p = std::make_unique<Pending>(Pending{std::move(scope), std::move(request), std::move(handler),
                                             Clock::now() + delay});
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
}

std::unique_ptr<FakeS3::Pending> FakeS3::NextDue() {
  for (auto it = stalled_.begin(); it != stalled_.end(); ++it) {
    if ((*it)->scope->cancelled || stopping_) {
      auto p = std::move(*it);
      stalled_.erase(it);
      return p;
    }
  }
  const auto now = Clock::now();
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if ((*it)->not_before <= now || (*it)->scope->cancelled || stopping_) {
      auto p = std::move(*it);
      queue_.erase(it);
      return p;
    }
  }
  return nullptr;
}

void FakeS3::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    std::unique_ptr<Pending> p = NextDue();
    if (!p) {
      if (stopping_ && queue_.empty() && stalled_.empty()) return;
      cv_.wait_for(lock, std::chrono::milliseconds(2));
      continue;
    }
    lock.unlock();
    Serve(std::move(p));
    lock.lock();
  }
}

}  // namespace riptide::testing
