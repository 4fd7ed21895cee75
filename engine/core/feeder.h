// Work that waits (listing pages on the network, admission through the budget) runs on a
// thread of its own and puts what it admits into the graph: no oneTBB worker is ever
// parked on a condition variable or a future, so the arena's threads only fetch, hash
// and commit.
#pragma once

#include <oneapi/tbb/flow_graph.h>

#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace riptide::engine {

/// Runs `produce` on a feeder thread while the caller waits for the graph; the graph's
/// wait ends only once `produce` has returned and everything it put has been processed.
/// `produce` feeds nodes with try_put and must not throw (errors are values).
template <typename Produce>
void FeedGraph(oneapi::tbb::flow::graph& g, Produce&& produce) {
  g.reserve_wait();  // the feeder is outside work the graph must wait for
  std::thread feeder([&g, &produce] {
    produce();
    g.release_wait();
  });
  g.wait_for_all();
  feeder.join();
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
