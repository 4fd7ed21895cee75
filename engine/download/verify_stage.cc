// The verify stage: reads each fetched file back once and proves it is the object.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include <spdlog/spdlog.h>

#include "engine/core/hashing.h"
#include "engine/download/stages.h"
#include "transport/s3/errors.h"
#include "transport/s3/responses.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

// A round's outcome: done (verified or failed for good), or fetch again.
bool Again(RunContext& ctx, Transfer& t, Error e) {
  // Object-level rounds take the same decision as requests; the refetch starts at once.
  if (ctx.options.retry.NextTry(e, t.rounds, ctx.stop)) {
    ctx.stats.retries++;  // an object fetched again: its own mismatch, never a throttle
    spdlog::info("fetching {} again (round {}): {}", t.object.key, t.rounds + 1, e.ToString());
    t.error.reset();
    return false;
  }
  t.error = std::move(e);
  return true;
}

// What the file holds, against what the object says it is: "" when they agree.
std::string Mismatch(const Transfer& t, const FileDigest& digest, bool whole_md5, bool by_parts) {
  if (digest.size != t.object.size) return "size " + std::to_string(digest.size) + " != " + std::to_string(t.object.size);
  if (whole_md5 && digest.md5 != t.object.etag) return "MD5 " + digest.md5 + " != ETag " + t.object.etag;
  if (by_parts && digest.parts_etag != t.object.etag) {
    return "part MD5s give " + digest.parts_etag + " != ETag " + t.object.etag;
  }
  if (!t.checksum_algorithm.empty() && digest.checksum != t.checksum_value) {
    return t.checksum_algorithm + " " + digest.checksum + " != " + t.checksum_value;
  }
  return {};
}

// The temp file was sized from the listing; the object may have shrunk since.
Status TrimToReceived(const Transfer& t) {
  const int fd = t.temp.file.get();
  const uint64_t received = t.BytesReceived();
  struct stat st;
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) != received &&
      ::ftruncate(fd, static_cast<off_t>(received)) != 0) {
    return IoError("cannot truncate", t.path, errno);
  }
  return OkStatus();
}

// A fetch that failed: a replaced object goes back to the fetch stage, which learns
// what it is now (a HEAD) and fetches it again whole; anything else is final.
bool FetchFailed(RunContext& ctx, Transfer& t) {
  if (t.error->code != ErrorCode::kPrecondition) return true;
  t.refresh = true;
  t.upload_part_size = 0;
  Error e = *t.error;
  e.retryable = true;
  return Again(ctx, t, std::move(e));
}

}  // namespace

bool Verify(RunContext& ctx, Transfer& t) {
  if (t.folder) return true;
  // The fetch stage handed every hasher whose digest can vouch for the object to the
  // rounds (AwaitDigest): one still here belongs to a failed fetch or to an object that
  // told another checksum, and leaves the rounds unfinished.
  if (std::shared_ptr<StreamHasher> hasher = std::move(t.hasher)) hasher->Abandon();
  std::optional<Result<FileDigest>> streamed = std::exchange(t.streamed, std::nullopt);
  if (t.probe_unsupported) ctx.part_probe_unsupported = true;  // ask no more this run
  if (t.error) return FetchFailed(ctx, t);
  ScopedTimer timer(ctx.stats.ns_verify);
  if (Status st = TrimToReceived(t); !st.ok()) {
    t.error = st.error();
    return true;
  }
  const bool by_checksum = t.ProvedByChecksum();
  const int upload_parts = by_checksum ? 0 : s3::MultipartEtagParts(t.object.etag);
  std::vector<uint64_t> lengths = by_checksum ? std::vector<uint64_t>() : t.exact_part_lengths;
  if (lengths.empty() && upload_parts > 0 && t.upload_part_size > 0) {
    lengths = planner::UniformUploadParts(t.object.size, t.upload_part_size, upload_parts);
  }
  const bool whole_md5 = !by_checksum && s3::IsPlainMd5Etag(t.object.etag);
  // The stream hasher used the same part lengths; its digest stands unless it failed.
  Result<FileDigest> digest = streamed && streamed->ok()
                                  ? *streamed
                                  : DigestFile(t.temp.file.get(), whole_md5, lengths, t.checksum_algorithm);
  if (digest.ok() && upload_parts > 0 && t.upload_part_size > 0 && digest->parts_etag != t.object.etag &&
      t.part_sizes == Transfer::PartSizes::kUnasked) {
    // Not every part had the first one's size: the fetch stage asks for each, then this
    // stage hashes again (the bytes are not fetched again).
    t.part_sizes = Transfer::PartSizes::kWanted;
    return false;
  }
  if (!digest.ok()) {
    t.error = digest.error();
    return true;
  }
  if (std::string mismatch = Mismatch(t, *digest, whole_md5, !lengths.empty()); !mismatch.empty()) {
    return Again(ctx, t, MakeError(ErrorCode::kIntegrity, "downloaded bytes do not match: " + mismatch, true));
  }
  t.xxh3 = digest->xxh3;
  t.verified_by = by_checksum ? AsciiLower(t.checksum_algorithm) : whole_md5 ? "md5" : !lengths.empty() ? "md5-parts" : "size";
  return true;
}

}  // namespace riptide::engine
