// The sync graph: list → plan → fetch → verify → commit, on oneTBB's flow graph.
#pragma once

#include "engine/stages.h"

namespace riptide::engine {

/// Runs the graph to the end of the listing (or until ctx.stop), starting from the
/// already-fetched first page. Commits what is pending before returning.
Status RunPipeline(RunContext& ctx, s3::ListPage first_page);

}  // namespace riptide::engine
