// The sync graph: list → plan → fetch → verify → commit, on oneTBB's flow graph.
#pragma once

#include "engine/download/stages.h"

namespace riptide::engine {

/// Runs the graph to the end of `pages` (or until ctx.stop); `pages` has been started.
/// Commits what is pending before returning.
Status RunPipeline(RunContext& ctx, PageSource& pages);

}  // namespace riptide::engine
