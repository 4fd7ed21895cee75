// Work that waits (listing pages on the network, admission through the budget) runs on a
// thread of its own and puts what it admits into the graph: no oneTBB worker is ever
// parked on a condition variable or a future, so the arena's threads only fetch, hash
// and commit.
#pragma once

#include <oneapi/tbb/flow_graph.h>

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

/// What an exception that escaped riptide's code says, as an error value.
inline Error InternalError(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(std::move(thrown));
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  } catch (...) {
    return MakeError(ErrorCode::kInternal, "internal error: an unknown exception");
  }
}

/// Runs `produce` on a feeder thread while the caller waits for it, then for the graph; the
/// graph's wait ends only once `produce` has returned and everything it put has been processed.
/// `produce` feeds nodes with try_put; errors are values, and an exception it lets out
/// (std::bad_alloc) still releases the graph's wait and comes back as the error here.
template <typename Produce>
[[nodiscard]] Status FeedGraph(oneapi::tbb::flow::graph& g, Produce&& produce) {
  g.reserve_wait();  // the feeder is outside work the graph must wait for
  Status fed = OkStatus();
  std::thread feeder([&g, &produce, &fed] {
    try {
      produce();
    } catch (...) {
      fed = InternalError(std::current_exception());
    }
    g.release_wait();
  });
  // The caller waits for the feeder outside the graph, and only then in it: a thread that
  // waits in the graph spins (oneTBB: up to a hundred sched_yield calls) each time the graph
  // runs out of work, which, while objects trickle in, is after nearly every one. That
  // spinning was half of all of it on `small`; the arena's workers run the graph meanwhile.
  feeder.join();
  g.wait_for_all();
  return fed;
}

/// Starts asynchronous work on `item` from an async_node body: the gateway holds the
/// graph's wait until `start` calls back with the item. A start that throws instead would
/// hold that wait for ever (no wait_for_all returns, no signal ends the run), so the item
/// then carries the exception as its error and goes on as a failure. The callback takes
/// effect once: one that comes after a throw changes nothing.
template <typename Ptr, typename Gateway, typename Start>
void StartThroughGateway(Ptr item, Gateway& gw, Start&& start) {
  gw.reserve_wait();
  auto fired = std::make_shared<std::atomic<bool>>(false);
  auto finish = [&gw, fired](Ptr done) {
    if (fired->exchange(true)) return;
    gw.try_put(std::move(done));
    gw.release_wait();
  };
  try {
    start(item, finish);
  } catch (...) {
    if (fired->load()) return;
    item->error = InternalError(std::current_exception());
    finish(std::move(item));
  }
}

/// What the feeder admits, handed to the graph in batches: a put from outside the arena
/// wakes a worker, and one per small object costs more CPU than the object. The batch is
/// flushed when it is full, before the feeder blocks on a budget (work must never wait
/// unsent while its budget waits for it), and at the end of each page.
template <typename T>
class FeedBatch {
 public:
  using Batch = std::shared_ptr<std::vector<T>>;
  explicit FeedBatch(oneapi::tbb::flow::receiver<Batch>& into, size_t max = 32) : into_(into), max_(max) {}
  ~FeedBatch() { Flush(); }
  void Add(T item) {
    batch_->push_back(std::move(item));
    if (batch_->size() >= max_) Flush();
  }
  void Flush() {
    if (batch_->empty()) return;
    into_.try_put(std::exchange(batch_, std::make_shared<std::vector<T>>()));
  }

 private:
  oneapi::tbb::flow::receiver<Batch>& into_;
  const size_t max_;
  Batch batch_ = std::make_shared<std::vector<T>>();
};

}  // namespace riptide::engine
