// Work that waits (listing pages on the network, admission through the budget) runs on a
// thread of its own and puts what it admits into the graph: no oneTBB worker is ever
// parked on a condition variable or a future, so the arena's threads only fetch, hash
// and commit.
#pragma once

#include <oneapi/tbb/flow_graph.h>

#include <thread>
#include <utility>

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

}  // namespace riptide::engine
