#include "engine/core/feeder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace riptide::engine {
namespace {

namespace flow = oneapi::tbb::flow;

struct Item {
  int n = 0;
  std::optional<Error> error;
};
using ItemPtr = std::shared_ptr<Item>;
using AsyncNode = flow::async_node<ItemPtr, ItemPtr>;

// A graph of one async node whose start calls back on another thread, or throws for the
// items `throws` picks; what reaches the node after it is collected.
std::vector<ItemPtr> RunAsyncGraph(int items, bool (*throws)(int)) {
  std::vector<ItemPtr> out;
  std::vector<std::thread> callbacks;
  std::mutex mu;  // the node runs its bodies concurrently
  flow::graph g;
  AsyncNode start(g, flow::unlimited, [&](const ItemPtr& item, AsyncNode::gateway_type& gw) {
    StartThroughGateway(item, gw, [&](const ItemPtr& it, auto done) {
      if (throws(it->n)) throw std::bad_alloc();
      std::lock_guard<std::mutex> lock(mu);
      callbacks.emplace_back([it, done] { done(it); });
    });
  });
  flow::function_node<ItemPtr> collect(g, flow::serial, [&](const ItemPtr& item) { out.push_back(item); });
  flow::make_edge(start, collect);
  for (int i = 0; i < items; ++i) {
    auto item = std::make_shared<Item>();
    item->n = i;
    start.try_put(item);
  }
  g.wait_for_all();
  for (auto& t : callbacks) t.join();
  return out;
}

TEST(StartThroughGateway, AStartThatThrowsReleasesTheGraphAndFailsOnlyItsItem) {
  // Before, a throw left the gateway's wait reserved: wait_for_all never returned.
  auto out = RunAsyncGraph(8, [](int n) { return n % 3 == 1; });
  ASSERT_EQ(out.size(), 8u);
  int failed = 0;
  for (const auto& item : out) {
    if (item->n % 3 == 1) {
      ASSERT_TRUE(item->error.has_value());
      EXPECT_EQ(item->error->code, ErrorCode::kInternal);
      EXPECT_NE(item->error->message.find("internal error"), std::string::npos);
      ++failed;
    } else {
      EXPECT_FALSE(item->error.has_value());
    }
  }
  EXPECT_EQ(failed, 3);
}

TEST(StartThroughGateway, ACallbackAfterAThrowChangesNothing) {
  std::vector<ItemPtr> out;
  std::function<void(ItemPtr)> late;
  flow::graph g;
  AsyncNode start(g, flow::unlimited, [&](const ItemPtr& item, AsyncNode::gateway_type& gw) {
    StartThroughGateway(item, gw, [&](const ItemPtr&, auto done) {
      late = done;
      throw std::runtime_error("after the work was handed on");
    });
  });
  flow::function_node<ItemPtr> collect(g, flow::serial, [&](const ItemPtr& item) { out.push_back(item); });
  flow::make_edge(start, collect);
  start.try_put(std::make_shared<Item>());
  g.wait_for_all();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0]->error.has_value());
  late(std::make_shared<Item>());  // the work's own callback, late: neither put nor released twice
  g.wait_for_all();
  EXPECT_EQ(out.size(), 1u);
}

TEST(FeedGraph, AFeederThatThrowsEndsTheWaitWithTheErrorAfterWhatItFed) {
  flow::graph g;
  std::atomic<int> processed{0};
  flow::function_node<int> work(g, flow::unlimited, [&](int) { ++processed; });
  Status fed = FeedGraph(g, [&] {
    for (int i = 0; i < 5; ++i) work.try_put(i);
    throw std::bad_alloc();
  });
  ASSERT_FALSE(fed.ok());
  EXPECT_EQ(fed.error().code, ErrorCode::kInternal);
  EXPECT_EQ(processed, 5);
  EXPECT_TRUE(FeedGraph(g, [&] { work.try_put(6); }).ok());
  EXPECT_EQ(processed, 6);
}

}  // namespace
}  // namespace riptide::engine
