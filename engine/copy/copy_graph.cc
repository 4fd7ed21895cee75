#include "engine/copy/copy_graph.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/parallel_for.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "engine/copy/copy_support.h"
#include "engine/core/feeder.h"
#include "engine/core/work_arena.h"

namespace riptide::engine {
namespace {

namespace flow = oneapi::tbb::flow;
constexpr uint64_t kMiB = 1ull << 20;

// Takes `n` tokens; before waiting for them, hands on what was admitted (`flush`).
template <typename Flush>
bool Admit(Budget& budget, int n, Flush&& flush) {
  if (n <= 0 || budget.TryAcquire(n)) return true;
  flush();
  return budget.Acquire(n);
}

// Decides a batch's objects and admits each through the budgets; false once stopping.
template <typename Emit, typename Flush>
void PlanBatch(CopyRun& run, const Batch& batch, Emit&& emit, Flush&& flush) {
  const CopyOptions& options = run.ctx.options;
  Stats& stats = run.ctx.stats;
  // --checksum: a batch's local files are hashed in parallel before anything is decided.
  std::vector<char> same(batch->size(), 0);
  oneapi::tbb::parallel_for(size_t{0}, batch->size(), [&](size_t i) {
    const CopyTask& t = *(*batch)[i];
    if (t.check_against) same[i] = LocalFileMatches(t.source, *t.check_against, options.part_size);
  });
  for (size_t i = 0; i < batch->size(); ++i) {
    if (run.shell.stop()) return;
    const CopyTaskPtr& t = (*batch)[i];
    if (same[i]) {
      stats.skipped++;
      continue;
    }
    if (run.plan_out) {
      run.plan_out->Add(t->is_new ? PlanWriter::Kind::kNew : PlanWriter::Kind::kModified, t->dst_key,
                        t->source.info.size);
    }
    const CopyShape shape = ShapeOf(run.ctx, t->source);
    stats.planned++;
    if (t->is_new) stats.planned_new++;
    stats.bytes_planned += t->source.info.size;
    if (options.dry_run) {  // counted and told, never copied
      const std::string to = "s3://" + options.destination.bucket + "/" + t->dst_key;
      if (options.source) {
        stats.Planned("copy", "s3://" + options.source->bucket + "/" + t->source.info.key, to);
      } else {
        stats.Planned("upload", t->source.path, to);
      }
      continue;
    }
    t->slots = static_cast<int>(std::min<uint64_t>(shape.parts, std::min(8, run.slots.limit())));
    if (shape.holds_bodies) {
      const uint64_t part_mib = std::max<uint64_t>(1, (shape.part_bytes + kMiB - 1) / kMiB);
      t->memory_mib = static_cast<int>(std::min<uint64_t>(part_mib * static_cast<uint64_t>(t->slots),
                                                          static_cast<uint64_t>(run.memory.total())));
    }
    bool acquired;
    {
      ScopedTimer timer(stats.ns_budget_wait);
      acquired = Admit(run.slots, t->slots, flush);
      if (acquired && !Admit(run.memory, t->memory_mib, flush)) {
        run.slots.Release(t->slots);
        acquired = false;
      }
    }
    if (!acquired) return;
    emit(t);
  }
}

void Report(CopyRun& run, const CopyTaskPtr& t) {
  run.Release(*t);
  if (t->error) {
    if (t->error->code != ErrorCode::kCancelled) {
      run.ctx.stats.AddFailure(t->dst_key, *t->error, t->source.info.key);
    }
    return;
  }
  run.ctx.stats.AddTransferred(t->dst_key, t->source.info.size, t->source.info.key, t->source.info.etag);
  spdlog::debug("copied {} → {} (ETag {}, verified by {})", t->source.rel, t->dst_key, t->etag, t->verified_by);
}

}  // namespace

void CopyRun::Release(CopyTask& t) {
  const int n = std::exchange(t.slots, 0), mib = std::exchange(t.memory_mib, 0);
  if (n > 0) slots.Release(n);
  if (mib > 0) memory.Release(mib);
}

void RunCopyGraph(CopyRun& run) {
  using TransferNode = flow::async_node<CopyTaskPtr, CopyTaskPtr>;
  WorkArena arena;
  run.ctx.release = [&run](CopyTask& t) { run.Release(t); };
  run.ctx.schedule = [&arena](std::function<void()> task) { arena.Enqueue(std::move(task)); };
  arena.Execute([&] {
    flow::graph g;
    TransferNode transfer(g, flow::unlimited, [&](const CopyTaskPtr& t, TransferNode::gateway_type& gw) {
      StartThroughGateway(t, gw, [&](const CopyTaskPtr& item, auto done) { StartCopy(run.ctx, item, std::move(done)); });
    });
    flow::function_node<CopyTaskPtr> report(g, flow::serial, [&](const CopyTaskPtr& t) { Report(run, t); });
    using Admitted = FeedBatch<CopyTaskPtr>::Batch;
    flow::function_node<Admitted> fan_out(g, flow::unlimited, [&](const Admitted& batch) {
      for (const auto& t : *batch) transfer.try_put(t);
    });
    flow::make_edge(transfer, report);
    // Merge and plan on the feeder: they wait on the listings and on the budgets.
    Status fed = FeedGraph(g, [&] {
      FeedBatch<CopyTaskPtr> admitted(fan_out);
      while (!run.shell.stop()) {
        auto batch = run.merger.Next();
        if (!batch.ok()) return run.shell.Fail(batch.error());
        if (!*batch) {
          run.merged_all = !run.shell.stop();
          run.ctx.stats.listing_done = run.merged_all;
          return;
        }
        PlanBatch(run, *batch, [&](const CopyTaskPtr& t) { admitted.Add(t); }, [&] { admitted.Flush(); });
        admitted.Flush();
      }
    });
    if (!fed.ok()) run.shell.Fail(fed.error());
  });
  arena.WaitForBackground();
}

}  // namespace riptide::engine
