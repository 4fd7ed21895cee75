#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "engine/hashing.h"
#include "engine/stages.h"

namespace riptide::engine {

bool Verify(RunContext& ctx, Transfer& t) {
  if (t.error || t.folder) return true;
  ScopedTimer timer(ctx.stats.ns_verify);
  const int fd = t.temp.file.get();
  // The temp file was sized from the listing; the object may have shrunk since.
  struct stat st;
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) != t.bytes_received) {
    if (::ftruncate(fd, static_cast<off_t>(t.bytes_received)) != 0) {
      t.error = IoError("cannot truncate", t.path, errno);
      return true;
    }
  }
  const bool md5_checks = s3::IsPlainMd5Etag(t.object.etag);
  auto digest = DigestFile(fd, md5_checks);
  if (!digest.ok()) {
    t.error = digest.error();
    return true;
  }
  std::string mismatch;
  if (digest->size != t.object.size) {
    mismatch = "size " + std::to_string(digest->size) + " != " + std::to_string(t.object.size);
  } else if (md5_checks && digest->md5 != t.object.etag) {
    mismatch = "MD5 " + digest->md5 + " != ETag " + t.object.etag;
  }
  if (mismatch.empty()) {
    t.xxh3 = digest->xxh3;
    t.verified_by = md5_checks ? "md5" : "size";
    return true;
  }
  Error e = MakeError(ErrorCode::kIntegrity, "downloaded bytes do not match: " + mismatch, true);
  if (!ctx.stop && ctx.options.retry.ShouldRetry(e, t.attempts)) {
    ctx.stats.retries++;
    return false;
  }
  t.error = std::move(e);
  return true;
}

}  // namespace riptide::engine
