#include "engine/download/pipeline.h"

#include <oneapi/tbb/flow_graph.h>

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/core/feeder.h"
#include "engine/core/work_arena.h"

namespace riptide::engine {

namespace flow = oneapi::tbb::flow;

namespace {

constexpr std::chrono::milliseconds kGatherLinger{10};

// Once the graph and its background tasks are done: what the hash rounds did, and the
// streams of transfers that never reached verify (a cancel) let go.
void EndHashRounds(RunContext& ctx) {
  const HashRounds::Counts hashed = ctx.hash_rounds->counts();
  ctx.stats.bytes_hashed_landing += hashed.bytes;
  if (hashed.rounds > 0) {
    spdlog::debug("hashed {} MiB while it landed, in {} rounds of {:.1f} streams on average ({} at most)",
                  hashed.bytes >> 20, hashed.rounds, static_cast<double>(hashed.streams) / hashed.rounds,
                  hashed.widest);
  }
  ctx.hash_rounds->Close();
  ctx.hash_rounds.reset();
}

}  // namespace

Status RunPipeline(RunContext& ctx, PageSource& pages) {
  PlanStage planner(ctx);
  CommitStage committer(ctx);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int verifiers = ctx.options.verify_threads > 0 ? ctx.options.verify_threads : cores;

  using FetchNode = flow::async_node<TransferPtr, TransferPtr>;
  using VerifyNode = flow::multifunction_node<TransferPtr, std::tuple<TransferPtr, TransferPtr>>;

  // Background work (hashing ranges as they land) runs in the graph's arena.
  WorkArena arena;
  Status fed = OkStatus();
  ctx.schedule_background = [&arena](std::function<void()> task) { arena.Enqueue(std::move(task)); };
  ctx.hash_rounds = std::make_shared<HashRounds>(ctx.schedule_background);
  // A landed object's last round waits for others, but no longer than a few ms and with
  // at most a quarter of the budget's slots: its slot is held until it commits.
  ctx.hash_rounds->Gather([&ctx] { return static_cast<size_t>(ctx.budget.limit() / 4); }, kGatherLinger);
  arena.Execute([&] {
    flow::graph g;
    FetchNode fetch(g, flow::unlimited, [&](const TransferPtr& t, FetchNode::gateway_type& gw) {
      StartThroughGateway(t, gw, [&](const TransferPtr& item, auto done) { StartFetch(ctx, item, std::move(done)); });
    });
    VerifyNode verify(g, static_cast<size_t>(verifiers),
                      [&](const TransferPtr& t, VerifyNode::output_ports_type& out) {
                        if (Verify(ctx, *t)) {
                          std::get<0>(out).try_put(t);
                        } else {
                          std::get<1>(out).try_put(t);  // back to the fetch stage
                        }
                      });
    flow::function_node<TransferPtr> commit(g, flow::serial, [&](const TransferPtr& t) {
      committer.Commit(t);
    });

    // Admitted transfers arrive in batches from the feeder and fan out inside the graph.
    using Batch = FeedBatch<TransferPtr>::Batch;
    flow::function_node<Batch> fan_out(g, flow::unlimited, [&](const Batch& batch) {
      for (const auto& t : *batch) fetch.try_put(t);
    });

    flow::make_edge(fetch, verify);
    flow::make_edge(flow::output_port<0>(verify), commit);
    flow::make_edge(flow::output_port<1>(verify), fetch);
    // List and plan on the feeder: they wait on the network and on the budget.
    fed = FeedGraph(g, [&] {
      FeedBatch<TransferPtr> admitted(fan_out);
      while (PagePtr page = pages.Next()) {
        planner.Plan(*page, [&](TransferPtr t) { admitted.Add(std::move(t)); }, [&] { admitted.Flush(); });
        admitted.Flush();
      }
    });
  });
  arena.WaitForBackground();
  EndHashRounds(ctx);
  Status finished = committer.Finish();  // what was verified is committed either way
  return fed.ok() ? finished : fed;
}

}  // namespace riptide::engine
