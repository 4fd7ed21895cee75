#include "apps/serve/object_sink.h"

#include <variant>

#include "apps/serve/serve_log.h"
#include "engine/core/source_moves.h"
#include "engine/state/sqlite.h"

namespace riptide::serve {
namespace {

constexpr size_t kBatch = 1000;       // objects handled at once
constexpr size_t kMaxWaiting = 10000;  // beyond this the run waits for the sink
constexpr int kMoveConcurrency = 32;

}  // namespace

std::optional<MoveTarget> MoveTargetOf(const engine::JobOptions& options) {
  if (const auto* sync = std::get_if<engine::SyncOptions>(&options)) {
    return MoveTarget{sync->client, sync->transport, sync->bucket, sync->retry};
  }
  const auto& copy = std::get<engine::CopyOptions>(options);
  if (!copy.source) return std::nullopt;
  return MoveTarget{copy.source->client, copy.source->transport, copy.source->bucket, copy.retry};
}

ObjectSink::ObjectSink(std::string job, EventStore& events, std::optional<MoveTarget> move,
                       const engine::JobHost& host, bool keep_outcomes)
    : job_(std::move(job)), events_(events), move_(std::move(move)), keep_outcomes_(keep_outcomes) {
  if (move_) {
    transport_ = host.transports(move_->transport);
    requests_ = std::make_unique<s3::RequestFactory>(move_->client);
  }
  worker_ = std::thread([this] { Loop(); });
}

ObjectSink::~ObjectSink() { Finish(); }

void ObjectSink::Add(const engine::ObjectEvent& e) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.size() < kMaxWaiting || closing_; });
  queue_.push_back(e);
  cv_.notify_all();
}

std::map<std::string, ObjectOutcome> ObjectSink::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  return std::move(outcomes_);
}

void ObjectSink::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
    if (queue_.empty()) return;
    std::vector<engine::ObjectEvent> batch;
    while (!queue_.empty() && batch.size() < kBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    cv_.notify_all();
    lock.unlock();
    Handle(batch);
    lock.lock();
  }
}

void ObjectSink::Handle(std::vector<engine::ObjectEvent>& batch) {
  std::map<std::string, engine::MoveOutcome> moves;
  if (move_) {
    std::vector<engine::MovedObject> verified;
    for (const auto& e : batch) {
      if (e.ok && !e.source_key.empty()) verified.push_back({e.source_key, e.etag});
    }
    const engine::RetryScope scope{move_->retry, nullptr, nullptr};
    for (auto& o : engine::DeleteMovedSources(*transport_, *requests_, move_->bucket, verified, scope,
                                              kMoveConcurrency)) {
      if (o.deleted) ++moved_;
      else ServeLog()->warn("{}: {} {}", job_, o.key, o.reason);
      moves[o.key] = std::move(o);
    }
  }
  const int64_t now = engine::sql::NowMs();
  std::vector<EventStore::FileUpdate> files;
  for (const auto& e : batch) {
    const std::string& key = e.source_key.empty() ? e.key : e.source_key;
    ObjectOutcome outcome{"done", e.bytes, {}};
    EventStore::FileUpdate f{key, std::nullopt, std::nullopt};
    if (!e.ok) {
      outcome = {e.gone ? "gone" : "failed", 0, e.reason};
      if (e.gone) f.source = FileSide{0, -1, now};
    } else {
      f.destination = FileSide{1, static_cast<int64_t>(e.bytes), now};
      f.source = FileSide{1, static_cast<int64_t>(e.bytes), now};
      if (auto m = moves.find(key); m != moves.end()) {
        if (m->second.deleted) f.source = FileSide{0, -1, now};
        else outcome = {"kept", e.bytes, m->second.reason};
      }
    }
    files.push_back(std::move(f));
    if (keep_outcomes_) outcomes_[key] = std::move(outcome);
  }
  if (Status st = events_.UpdateFiles(job_, files); !st.ok()) ServeLog()->error("{}", st.error().message);
}

}  // namespace riptide::serve
