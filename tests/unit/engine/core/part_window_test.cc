#include "engine/core/part_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <thread>
#include <vector>

namespace riptide::engine {
namespace {

// Parts finish on another thread, as transport callbacks do; the test records how many
// ran at once and which started.
struct Harness {
  std::mutex mu;
  std::vector<size_t> started;
  int running = 0, peak = 0;
  std::vector<std::thread> threads;
  ~Harness() {
    // done() came after the last Finished: no thread starts another or takes the lock.
    for (auto& t : threads) t.join();
  }
};

std::optional<Error> RunWindow(std::vector<size_t> parts, int width, std::atomic<bool>& stop, Harness& h,
                               std::function<std::optional<Error>(size_t)> outcome) {
  std::promise<std::optional<Error>> result;
  std::shared_ptr<PartWindow> window;
  window = PartWindow::Make(
      std::move(parts), width, stop,
      [&](size_t index) {
        std::lock_guard<std::mutex> lock(h.mu);
        h.started.push_back(index);
        h.peak = std::max(h.peak, ++h.running);
        h.threads.emplace_back([&, index, w = window] {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          {
            std::lock_guard<std::mutex> lock(h.mu);
            --h.running;
          }
          w->Finished(outcome(index));
        });
      },
      [&](std::optional<Error> e) { result.set_value(std::move(e)); });
  window->Launch();
  auto e = result.get_future().get();
  return e;
}

TEST(PartWindow, RunsEveryPartWithinItsWidth) {
  Harness h;
  std::atomic<bool> stop{false};
  auto e = RunWindow({0, 2, 3, 5, 7, 8, 9}, 3, stop, h, [](size_t) { return std::nullopt; });
  EXPECT_FALSE(e);
  // Taken in order, but started from several threads at once: each exactly once.
  std::sort(h.started.begin(), h.started.end());
  EXPECT_EQ(h.started, (std::vector<size_t>{0, 2, 3, 5, 7, 8, 9}));
  EXPECT_LE(h.peak, 3);
}

TEST(PartWindow, AFailureStartsNoMorePartsAndIsReportedOnceTheRunningOnesEnd) {
  Harness h;
  std::atomic<bool> stop{false};
  auto e = RunWindow({0, 1, 2, 3, 4, 5, 6, 7}, 2, stop, h, [](size_t i) -> std::optional<Error> {
    if (i == 1) return MakeError(ErrorCode::kIntegrity, "bad part");
    return std::nullopt;
  });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kIntegrity);
  EXPECT_LT(h.started.size(), 8u);
  EXPECT_EQ(h.running, 0);
}

TEST(PartWindow, AStopCancelsWhatIsNotStarted) {
  Harness h;
  std::atomic<bool> stop{false};
  auto e = RunWindow({0, 1, 2, 3, 4, 5}, 1, stop, h, [&](size_t i) -> std::optional<Error> {
    if (i == 1) stop = true;
    return std::nullopt;
  });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kCancelled);
  EXPECT_EQ(h.started, (std::vector<size_t>{0, 1}));
}

TEST(PartWindow, NoPartsIsDoneAtOnce) {
  Harness h;
  std::atomic<bool> stop{false};
  EXPECT_FALSE(RunWindow({}, 4, stop, h, [](size_t) { return std::nullopt; }));
  EXPECT_TRUE(h.started.empty());
}


// The fetch pattern: the owner holds the window, the window's done callback holds the owner
// and drops the window before it reads its own captures. ASan sees a window freed under it.
struct Owner : std::enable_shared_from_this<Owner> {
  std::shared_ptr<PartWindow> window;
  std::vector<std::optional<Error>> results;
};

std::optional<Error> RunOwned(std::vector<size_t> parts, std::atomic<bool>& stop) {
  auto owner = std::make_shared<Owner>();
  auto done_flag = std::make_shared<std::string>("done");
  owner->window = PartWindow::Make(
      std::move(parts), 2, stop,
      [w = std::weak_ptr<Owner>(owner)](size_t) {
        // Each part finishes at once, on the caller's stack.
        if (auto o = w.lock()) o->window->Finished(std::nullopt);
      },
      [self = owner, done_flag](std::optional<Error> e) {
        self->window.reset();
        EXPECT_EQ(*done_flag, "done");  // reads a capture after the window is gone
        self->results.push_back(std::move(e));
      });
  owner->window->Launch();
  EXPECT_EQ(owner->results.size(), 1u);
  return owner->results.empty() ? std::nullopt : owner->results.front();
}

TEST(PartWindow, TheDoneCallbackMayDropTheWindow) {
  std::atomic<bool> stop{false};
  EXPECT_FALSE(RunOwned({}, stop));
  EXPECT_FALSE(RunOwned({0, 1, 2, 3, 4}, stop));
  stop = true;  // stopped before the first part: done at once, from Launch
  auto e = RunOwned({0, 1, 2}, stop);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace riptide::engine
