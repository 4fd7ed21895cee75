// How many parts an object is copied in, for the plan stage's budgets.
#include <algorithm>

#include "engine/copy/copy_transfer.h"
#include "planner/copy_plan.h"
#include "planner/part_plan.h"

namespace riptide::engine {

namespace {
constexpr uint64_t kMiB = 1ull << 20;
}  // namespace

CopyShape ShapeOf(const CopyContext& ctx, const StreamEntry& source) {
  const CopyOptions& o = ctx.options;
  const uint64_t size = source.info.size;
  CopyShape shape;
  shape.part_bytes = size;
  const int etag_parts = source.path.empty() ? s3::MultipartEtagParts(source.info.etag) : 0;
  // Whole bodies in memory stay small next to the memory budget.
  const uint64_t single_limit = std::min(o.multipart_threshold, std::max<uint64_t>(o.memory_limit / 4, kMiB));
  const bool server = source.path.empty() && ctx.server_side;
  if (server) shape.holds_bodies = false;
  if (etag_parts > 0) {
    shape.parts = static_cast<uint64_t>(etag_parts);
    shape.part_bytes = (size + shape.parts - 1) / shape.parts;
    return shape;
  }
  if (size <= (server ? o.copy_threshold : single_limit)) return shape;
  shape.part_bytes = planner::UploadPartSize(size, o.part_size);
  shape.parts = (size + shape.part_bytes - 1) / shape.part_bytes;
  return shape;
}

}  // namespace riptide::engine
