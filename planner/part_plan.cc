#include "planner/part_plan.h"

#include <algorithm>

namespace riptide::planner {

uint64_t PartCount(uint64_t size, const PartPolicy& policy) {
  const uint64_t part = std::max<uint64_t>(policy.part_size_bytes, 1);
  if (size <= policy.threshold_bytes || size <= part) return 1;
  return (size + part - 1) / part;
}

PartPlan PlanParts(uint64_t size, const PartPolicy& policy) {
  PartPlan plan;
  const uint64_t part = std::max<uint64_t>(policy.part_size_bytes, 1);
  if (PartCount(size, policy) == 1) {
    plan.parts.push_back({0, 0, size == 0 ? 0 : size - 1});
    return plan;
  }
  plan.mode = PartPlan::Mode::kRanges;
  int index = 0;
  for (uint64_t first = 0; first < size; first += part) {
    plan.parts.push_back({index++, first, std::min(size, first + part) - 1});
  }
  return plan;
}

int ObjectSlots(uint64_t size, uint64_t parts, int limit, bool one_md5_stream, int lanes, int huge_in_view) {
  const int slots = static_cast<int>(std::min<uint64_t>(parts, static_cast<uint64_t>(limit)));
  if (!one_md5_stream || lanes <= 1) return slots;
  // A huge object not counted in view (one fetched again because its copy drifted) is
  // alone as far as this knows.
  const int sharing = size >= kWideAlone ? std::clamp(huge_in_view, 1, lanes) : lanes;
  return std::min(slots, std::max(2, limit / sharing));
}

std::vector<uint64_t> UniformUploadParts(uint64_t size, uint64_t first_part, int parts) {
  if (parts < 1 || first_part == 0) return {};
  const uint64_t n = static_cast<uint64_t>(parts);
  if (first_part > size || (n - 1) * first_part >= size + (parts == 1 ? 1 : 0)) return {};
  if (n * first_part < size) return {};
  std::vector<uint64_t> lengths(n, first_part);
  lengths.back() = size - (n - 1) * first_part;
  if (parts == 1 && lengths.back() != first_part) return {};
  return lengths;
}

}  // namespace riptide::planner
