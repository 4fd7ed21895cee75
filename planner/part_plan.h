// How one object is fetched (whole or by byte ranges), and where the parts of a multipart
// upload lie (to check its "…-N" ETag). Pure arithmetic, no I/O.
#pragma once

#include <cstdint>
#include <vector>

namespace riptide::planner {

struct PartRequest {
  int index = 0;       // 0-based position in the plan
  uint64_t first = 0;  // byte range, inclusive
  uint64_t last = 0;
};

struct PartPlan {
  enum class Mode { kWhole, kRanges };
  Mode mode = Mode::kWhole;
  std::vector<PartRequest> parts;  // one entry for kWhole
};

struct PartPolicy {
  uint64_t part_size_bytes = 16u << 20;  // --part-size
  uint64_t threshold_bytes = 16u << 20;  // objects larger than this are split
};

/// Objects above the threshold become ranges of part_size; the rest one whole GET.
PartPlan PlanParts(uint64_t size, const PartPolicy& policy);

/// How many requests PlanParts would make (1 for a whole GET), without building it.
uint64_t PartCount(uint64_t size, const PartPolicy& policy);

/// How many requests an object of `size` bytes in `parts` parts may run at once, within
/// `limit`: one a part, unless its only proof is one MD5 stream (`one_md5_stream`) and the
/// CPU hashes `lanes` streams side by side (0: no lanes). Such an object takes a lane
/// width-th of the limit (at least 2), so that as many objects land at once as the lanes
/// are wide. From kWideAlone up an object's own transfer time dominates and it may be alone
/// (a migration of a few huge objects): it shares the limit only with the other such
/// objects in view (`huge_in_view`, itself among them), so that a few huge ones land side
/// by side and their MD5s run in lanes, and one alone goes a slot a part.
constexpr uint64_t kWideAlone = 256u << 20;
int ObjectSlots(uint64_t size, uint64_t parts, int limit, bool one_md5_stream, int lanes, int huge_in_view = 1);

/// The part lengths of an upload of `size` bytes in `parts` parts whose first part was
/// `first_part` bytes, when every part but the last had that size (what SDKs and the
/// CLIs do); empty when the numbers cannot fit that shape.
std::vector<uint64_t> UniformUploadParts(uint64_t size, uint64_t first_part, int parts);

}  // namespace riptide::planner
