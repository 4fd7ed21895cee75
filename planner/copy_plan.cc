#include "planner/copy_plan.h"

#include <algorithm>

namespace riptide::planner {

Sameness CompareObjects(const s3::ObjectInfo& source, const s3::ObjectInfo& destination) {
  if (source.size != destination.size) return Sameness::kDifferent;
  if (!source.etag.empty() && source.etag == destination.etag) return Sameness::kSame;
  const bool both_md5 = s3::IsPlainMd5Etag(source.etag) && s3::IsPlainMd5Etag(destination.etag);
  const int parts = s3::MultipartEtagParts(source.etag);
  const bool same_layout = parts > 0 && parts == s3::MultipartEtagParts(destination.etag);
  return both_md5 || same_layout ? Sameness::kDifferent : Sameness::kUnknown;
}

bool LocalFileUnchanged(uint64_t size, int64_t mtime_ms, const s3::ObjectInfo& destination) {
  if (size != destination.size) return false;
  // LastModified has whole seconds: compare in seconds, flooring both.
  auto seconds = [](int64_t ms) { return ms >= 0 ? ms / 1000 : (ms - 999) / 1000; };
  return seconds(mtime_ms) <= seconds(destination.last_modified_ms);
}

uint64_t UploadPartSize(uint64_t size, uint64_t preferred) {
  uint64_t part = std::max(preferred, kMinUploadPart);
  const uint64_t parts_max = static_cast<uint64_t>(kMaxUploadParts);
  if ((size + part - 1) / part > parts_max) {
    const uint64_t mib = 1ull << 20;
    const uint64_t needed = (size + parts_max - 1) / parts_max;
    part = (needed + mib - 1) / mib * mib;
  }
  return part;
}

std::vector<uint64_t> CutParts(uint64_t size, uint64_t part_size) {
  std::vector<uint64_t> lengths;
  if (part_size == 0) return lengths;
  for (uint64_t first = 0; first < size; first += part_size) lengths.push_back(std::min(part_size, size - first));
  if (lengths.empty()) lengths.push_back(0);  // an empty object is one empty part
  return lengths;
}

std::vector<uint64_t> GuessUploadParts(uint64_t size, int parts, uint64_t preferred) {
  if (parts < 1) return {};
  const uint64_t mib = 1ull << 20;
  const uint64_t n = static_cast<uint64_t>(parts);
  std::vector<uint64_t> candidates = {UploadPartSize(size, preferred)};
  for (uint64_t m : {5, 8, 16, 32, 64, 128, 256, 512}) candidates.push_back(m * mib);
  candidates.push_back(((size + n - 1) / n + mib - 1) / mib * mib);
  for (uint64_t part : candidates) {
    if (part > 0 && (size + part - 1) / part == n) return CutParts(size, part);
  }
  return {};
}

}  // namespace riptide::planner
