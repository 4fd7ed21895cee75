// The copy graph, wired in one place:
//   merge ──► plan ──►│ transfer ──► report
//   (batches)  budgets │ async S3     counts, budgets back
//   └── feeder thread ─┘└── oneTBB graph ──────────────┘
#pragma once

#include <memory>

#include "engine/copy/copy_merge.h"
#include "engine/copy/copy_transfer.h"
#include "engine/core/budget.h"
#include "engine/core/run_shell.h"
#include "engine/state/plan_writer.h"

namespace riptide::engine {

/// What the copy graph's stages share for one run.
struct CopyRun {
  CopyContext& ctx;
  Merger& merger;
  RunShell& shell;
  PlanWriter* plan_out;  // may be null
  Budget slots;          // requests in flight
  Budget memory;         // MiB of part bodies held
  bool merged_all = false;  // the merge reached the end of both listings

  CopyRun(CopyContext& ctx, Merger& merger, RunShell& shell, PlanWriter* plan_out, int slots, int memory_mib,
          const JobHost& host)
      : ctx(ctx), merger(merger), shell(shell), plan_out(plan_out), slots(slots, host.shared_requests),
        memory(memory_mib, host.shared_memory_mib) {}

  /// Gives an object's budget back, once: early (its last part sent) or at its report.
  void Release(CopyTask& t);
};

/// Runs the graph until the merge ends or the run stops.
void RunCopyGraph(CopyRun& run);

}  // namespace riptide::engine
