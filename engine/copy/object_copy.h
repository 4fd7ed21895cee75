// One object copied into a bucket, as a chain of asynchronous S3 calls: the class behind
// StartCopy (copy_transfer.h). Its single-request paths are in object_copy.cc, its
// multipart paths in object_copy_parts.cc. Internal to engine/copy.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/copy/copy_transfer.h"
#include "engine/core/async_call.h"
#include "engine/core/part_window.h"

namespace riptide::engine::copy_internal {

using Headers = s3::RequestFactory::Headers;
inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kMaxCopyObjectBytes = 5ull << 30;  // S3's limit for one CopyObject

// Every call of a copy retries by the run's policy and stops with the run.
inline void Call(CopyContext& ctx, http::Transport& transport, AsyncCall::Make make, AsyncCall::Check check,
                 AsyncCall::Done done, uint64_t body_limit = 1u << 20) {
  AsyncCall::Run(transport, RetryScope{ctx.options.retry, &ctx.stop, &ctx.stats}, std::move(make),
                 std::move(check), std::move(done), body_limit);
}

class ObjectCopy : public std::enable_shared_from_this<ObjectCopy> {
 public:
  ObjectCopy(CopyContext& ctx, CopyTaskPtr t, std::function<void(CopyTaskPtr)> done)
      : ctx_(ctx), t_(std::move(t)), done_(std::move(done)), with_crc_(!ctx_.checksums_refused) {}

  void Start();

 private:
  enum class From { kServer, kStream, kLocal };

  const s3::RequestFactory& Dst() const { return ctx_.destination_requests; }
  const std::string& DstBucket() const { return ctx_.options.destination.bucket; }
  s3::CopySource Source() const { return {ctx_.options.source->bucket, t_->source.info.key, t_->source.info.etag}; }
  http::Transport& SrcTransport() { return ctx_.source_transport; }
  http::Transport& DstTransport() { return ctx_.destination_transport; }
  std::shared_ptr<ObjectCopy> self() { return shared_from_this(); }

  // Server-side, one request: CopyObject carries the metadata along (directive COPY); an
  // object it refuses for its size streams instead.
  void CopyWhole();

  // Streamed, one request each way: GET (the source's metadata in its headers), then PUT.
  void StreamWhole();

  // A local file, whole: read on a worker, then PUT.
  void UploadWhole();

  // On a worker: hashes the body (MD5 for Content-MD5, CRC32C for the object's stored
  // checksum), checks it against a plain-MD5 source ETag, then PUTs it.
  void PutWhole(std::shared_ptr<std::string> body, Headers headers);

  // A whole object landed with `etag`; `expected` is the source's ETag or what was sent.
  // `md5`: the destination's ETags are content MD5s (no KMS or customer-key encryption).
  void Landed(const std::string& etag, const std::string& expected, bool md5);

  // HEAD of the source: its metadata (Content-Type, x-amz-meta-*), and its ETag still
  // the one listed. Some servers leave the metadata out of a part's HEAD, so this one is whole.
  void Describe();

  // HEAD ?partNumber=1 of a multipart source: the size of its first part, so the copy is
  // cut the same way and ends with the same ETag. Without an answer, riptide's own cut.
  void ProbeLayout();

  // CreateMultipartUpload with the metadata; the parts start once it answers.
  void Create();

  // Cuts the object (lengths_) and runs its parts through a PartWindow.
  void BeginParts();

  // One part: UploadPartCopy, or a ranged GET (or a file read) then SendPart.
  void RunPart(size_t i);

  // On a worker: the part's MD5, then its UploadPart.
  void SendPart(size_t i, std::shared_ptr<const std::string> body);

  // A part landed with `etag`, or failed for good: the window decides what runs next.
  void PartFinished(size_t i, Result<std::string> etag);

  // CompleteMultipartUpload, with the object's budget handed back first.
  void Complete();
  // Bytes riptide sends itself (streamed, uploads) carry CRC64NVME: each part's, and the
  // whole object's at Complete, so the destination proves the object it assembled and
  // later downloads verify at memory speed. Server-side part copies send no bytes.
  bool SendsCrc() const { return from_ != From::kServer && with_crc_; }
  // A request that carried checksums was refused for them: checksums stay off for the rest
  // of the run (said once), and this object starts over without them.
  void ChecksumsRefused(const Error& e);
  bool RefusedForChecksums(const Error& e) const { return SendsCrc() && s3::IsChecksumRefused(e); }

  // The upload is complete: its ETag must be the MD5 of the parts' MD5s, and, when the
  // parts were cut as the source's were, the source's own ETag.
  void Completed(const std::string& etag, bool md5);

  // The destination answered UploadPartCopy with 501: the upload is aborted and the
  // object (and every one after it) copied whole.
  void PartCopyUnsupported(const Error& e);
  // CopyObject, for objects up to 5 GiB; larger ones, and those CopyObject refuses for
  // their size, stream through riptide instead.
  void CopyWholeInstead();
  void StreamInstead();

  // The part size to cut this object with: --part-size, below a 413's cap, within S3's limits.
  uint64_t PartSize() const;
  // A body of `length` bytes was refused with 413: later bodies stay at most half as big
  // (not below S3's 5 MiB parts), and the object starts over in parts of that size.
  void BodyTooLarge(const Error& e, uint64_t length);

  // The object starts over from scratch under the run's settings now (its upload aborted).
  void StartOver();
  // The object failed for good: its multipart upload, if any, is aborted first.
  void Fail(Error e);
  // Aborts the open multipart upload, if any (a failure to abort is warned about), then `then`.
  void AbortUpload(std::function<void()> then);

  // Reports the object (once).
  void Finish();

  CopyContext& ctx_;
  CopyTaskPtr t_;
  std::function<void(CopyTaskPtr)> done_;
  const bool with_crc_;  // checksums were not refused when this object started
  From from_ = From::kServer;
  Headers metadata_;
  std::vector<uint64_t> lengths_;
  std::vector<uint64_t> offsets_;
  bool same_layout_ = false;  // parts cut as the source's were
  bool source_md5_ = true;    // the source's ETag is a content hash (not KMS / customer-key encrypted)
  std::string upload_id_;
  std::shared_ptr<PartWindow> window_;  // while the parts run
  std::mutex mu_;  // guards what follows
  std::vector<std::string> etags_;     // each part's ETag from the destination
  std::vector<std::string> sent_md5_;  // each part's MD5 as sent (streamed, uploads)
  std::vector<uint64_t> sent_crc_;     // each part's CRC64NVME as sent (streamed, uploads)
};

}  // namespace riptide::engine::copy_internal
