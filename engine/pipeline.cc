#include "engine/pipeline.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace riptide::engine {

namespace flow = oneapi::tbb::flow;

Status RunPipeline(RunContext& ctx, PageSource& pages) {
  PlanStage planner(ctx);
  CommitStage committer(ctx);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int verifiers = ctx.options.verify_threads > 0 ? ctx.options.verify_threads : cores;

  using FetchNode = flow::async_node<TransferPtr, TransferPtr>;
  using PlanNode = flow::multifunction_node<PagePtr, std::tuple<TransferPtr>, flow::rejecting>;
  using VerifyNode = flow::multifunction_node<TransferPtr, std::tuple<TransferPtr, TransferPtr>>;

  // The plan stage blocks on the budget and commit blocks on the disk: give the graph
  // more threads than cores so neither starves the others.
  const int threads = std::max(4, cores + 2);
  oneapi::tbb::global_control allow(oneapi::tbb::global_control::max_allowed_parallelism,
                                    static_cast<size_t>(threads));
  oneapi::tbb::task_arena arena(threads);
  // Background work (hashing ranges as they land) runs in the same arena; count it so
  // the arena outlives every task.
  std::mutex bg_mu;
  std::condition_variable bg_cv;
  int bg_pending = 0;
  ctx.schedule_background = [&](std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(bg_mu);
      ++bg_pending;
    }
    arena.enqueue([&, task = std::move(task)] {
      task();
      std::lock_guard<std::mutex> lock(bg_mu);
      if (--bg_pending == 0) bg_cv.notify_all();
    });
  };
  arena.execute([&] {
    flow::graph g;
    flow::input_node<PagePtr> list(g, [&](oneapi::tbb::flow_control& fc) -> PagePtr {
      PagePtr page = pages.Next();
      if (!page) fc.stop();
      return page;
    });
    PlanNode plan(g, flow::serial, [&](const PagePtr& page, PlanNode::output_ports_type& out) {
      planner.Plan(*page, [&](TransferPtr t) { std::get<0>(out).try_put(std::move(t)); });
    });
    FetchNode fetch(g, flow::unlimited, [&](const TransferPtr& t, FetchNode::gateway_type& gw) {
      gw.reserve_wait();
      StartFetch(ctx, t, [&gw](TransferPtr done) {
        gw.try_put(std::move(done));
        gw.release_wait();
      });
    });
    VerifyNode verify(g, static_cast<size_t>(verifiers),
                      [&](const TransferPtr& t, VerifyNode::output_ports_type& out) {
                        if (Verify(ctx, *t)) {
                          std::get<0>(out).try_put(t);
                        } else {
                          std::get<1>(out).try_put(t);  // fetch again
                        }
                      });
    flow::function_node<TransferPtr> commit(g, flow::serial, [&](const TransferPtr& t) {
      committer.Commit(t);
    });

    flow::make_edge(list, plan);
    flow::make_edge(flow::output_port<0>(plan), fetch);
    flow::make_edge(fetch, verify);
    flow::make_edge(flow::output_port<0>(verify), commit);
    flow::make_edge(flow::output_port<1>(verify), fetch);
    list.activate();
    g.wait_for_all();
  });
  {
    std::unique_lock<std::mutex> lock(bg_mu);
    bg_cv.wait(lock, [&] { return bg_pending == 0; });
  }
  return committer.Finish();
}

}  // namespace riptide::engine
