// What a run's objects mean to the service beyond its history, handled on a thread of its
// own while the run goes on: moves (the verified source deleted, only while it is still
// the object copied), the files table, and each object's outcome for the events it answers.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "apps/serve/event_store.h"
#include "engine/config/job_spec.h"
#include "engine/core/job.h"

namespace riptide::serve {

/// An object's outcome, by source key, for the notices of an event run.
struct ObjectOutcome {
  std::string state;  // done, failed, gone, kept
  uint64_t bytes = 0;
  std::string reason;
};

/// Where moved sources are deleted: the run's source bucket, on a transport of its own.
struct MoveTarget {
  s3::ClientConfig client;
  http::TransportOptions transport;
  std::string bucket;
  engine::RetryPolicy retry;
};
/// The source side of resolved options; none for a local source.
std::optional<MoveTarget> MoveTargetOf(const engine::JobOptions& options);

class ObjectSink {
 public:
  /// `move`: delete verified sources there. `keep_outcomes`: remember every object's
  /// outcome (event runs, whose keys are bounded by the batch).
  ObjectSink(std::string job, EventStore& events, std::optional<MoveTarget> move, const engine::JobHost& host,
             bool keep_outcomes);
  ~ObjectSink();
  ObjectSink(const ObjectSink&) = delete;
  ObjectSink& operator=(const ObjectSink&) = delete;

  /// From the run's threads; waits while too many objects are still to be handled.
  void Add(const engine::ObjectEvent& e);
  /// Handles what is left and stops the thread; the outcomes by source key.
  std::map<std::string, ObjectOutcome> Finish();
  uint64_t moved() const { return moved_; }

 private:
  void Loop();
  void Handle(std::vector<engine::ObjectEvent>& batch);

  const std::string job_;
  EventStore& events_;
  std::optional<MoveTarget> move_;
  std::unique_ptr<http::Transport> transport_;  // moves only
  std::unique_ptr<s3::RequestFactory> requests_;
  const bool keep_outcomes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<engine::ObjectEvent> queue_;
  bool closing_ = false;
  std::map<std::string, ObjectOutcome> outcomes_;
  uint64_t moved_ = 0;
  std::thread worker_;
};

}  // namespace riptide::serve
