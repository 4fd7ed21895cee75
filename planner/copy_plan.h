// Decisions for copies into a bucket (from another bucket or a local directory): is the
// destination object already the source's content, and how an upload is cut into parts.
// Pure, no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "transport/s3/object_info.h"

namespace riptide::planner {

enum class Sameness {
  kSame,       // equal sizes and equal content hashes (ETags)
  kDifferent,  // the sizes differ, or two comparable ETags differ
  kUnknown,    // equal sizes, ETags that cannot be compared (another part layout,
               // a plain MD5 against a multipart ETag, encrypted objects)
};

/// Bucket against bucket: size, then the ETags when both are MD5s or both multipart ETags
/// of the same part count.
Sameness CompareObjects(const s3::ObjectInfo& source, const s3::ObjectInfo& destination);

/// A local file against the object uploaded from it: the same size and a file no newer
/// than the object (seconds), the rule of `aws s3 sync`. A re-run of an upload therefore
/// uploads nothing without reading a byte.
bool LocalFileUnchanged(uint64_t size, int64_t mtime_ms, const s3::ObjectInfo& destination);

inline constexpr uint64_t kMinUploadPart = 5ull << 20;  // S3: every part but the last
inline constexpr int kMaxUploadParts = 10000;

/// The part size for an upload of `size` bytes: `preferred`, raised to S3's 5 MiB
/// minimum, and raised again (to a whole MiB) until the parts number ≤ 10,000.
uint64_t UploadPartSize(uint64_t size, uint64_t preferred);

/// The lengths of the parts of `size` bytes cut at `part_size` (the last one shorter).
std::vector<uint64_t> CutParts(uint64_t size, uint64_t part_size);

/// The part lengths an uploader most likely used for `size` bytes in `parts` parts:
/// riptide's own cut for `preferred`, then the part sizes common tools use (5, 8, 16 …
/// 512 MiB), then the smallest whole MiB that gives that count. Empty when none does.
/// A wrong guess only costs an upload: the ETag it predicts will not match.
std::vector<uint64_t> GuessUploadParts(uint64_t size, int parts, uint64_t preferred);

}  // namespace riptide::planner
