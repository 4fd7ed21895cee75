// ObjectCopy: the start, the single-request paths (CopyObject, GET → PUT, file → PUT),
// and the end of every copy (Fail aborts an open upload, Finish reports).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/copy/copy_support.h"
#include "engine/copy/object_copy.h"
#include "engine/core/checksums.h"
#include "planner/copy_plan.h"
#include "planner/part_plan.h"
#include "transport/s3/crypto.h"
#include "transport/s3/errors.h"
#include "transport/s3/responses.h"
#include "transport/s3/xml.h"
#include "transport/strings.h"

namespace riptide::engine::copy_internal {

void ObjectCopy::Start() {
  const StreamEntry& src = t_->source;
  from_ = !src.path.empty() ? From::kLocal : ctx_.server_side ? From::kServer : From::kStream;
  if (from_ == From::kServer && ctx_.part_copy_unsupported) return CopyWholeInstead();
  const CopyShape shape = ShapeOf(ctx_, src);
  const uint64_t cap = ctx_.body_cap;
  const bool fits = from_ == From::kServer || cap == 0 || src.info.size <= cap;
  if (shape.parts == 1 && s3::MultipartEtagParts(src.info.etag) == 0 && fits) {
    switch (from_) {
      case From::kServer: return CopyWhole();
      case From::kStream: return StreamWhole();
      case From::kLocal: return UploadWhole();
    }
  }
  if (from_ == From::kLocal) {
    metadata_ = {{"Content-Type", ContentTypeFor(src.path)}};
    lengths_ = planner::CutParts(src.info.size, PartSize());
    return Create();
  }
  Describe();
}

void ObjectCopy::CopyWhole() {
  Call(
      ctx_, DstTransport(), [s = self()] { return s->Dst().CopyObject(s->DstBucket(), s->t_->dst_key, s->Source()); },
      EtagInBody,
      [s = self()](Result<http::Response> r) {
        if (!r.ok() && s3::IsCopySourceTooLarge(r.error())) return s->StreamInstead();
        if (!r.ok()) return s->Fail(r.error());
        s->Landed(*s3::ParseResultEtag(r->body), s->t_->source.info.etag, s3::EtagsAreMd5(r->headers));
      });
}

// Streamed, one request each way: GET (the source's metadata in its headers), then PUT.
void ObjectCopy::StreamWhole() {
  const uint64_t size = t_->source.info.size;
  Call(
      ctx_, SrcTransport(),
      [s = self()] {
        const auto& info = s->t_->source.info;
        return s->ctx_.source_requests->GetObject(s->ctx_.options.source->bucket, info.key, std::nullopt, info.etag);
      },
      [size](const http::Response& r) -> Status {
        if (r.body.size() == size) return OkStatus();
        return MakeError(ErrorCode::kNetwork, "the source sent " + std::to_string(r.body.size()) + " of " +
                                                  std::to_string(size) + " bytes", true);
      },
      [s = self()](Result<http::Response> r) {
        if (!r.ok()) return s->Fail(r.error());
        s->ctx_.stats.bytes_received += r->body.size();
        s->source_md5_ = s3::EtagsAreMd5(r->headers);
        auto body = std::make_shared<std::string>(std::move(r->body));
        Headers metadata = s3::MetadataOf(r->headers);
        s->ctx_.schedule([s, body, metadata = std::move(metadata)]() mutable { s->PutWhole(body, std::move(metadata)); });
      },
      size);
}

void ObjectCopy::UploadWhole() {
  ctx_.schedule([s = self()] {
    auto body = ReadLocalRange(s->t_->source, 0, s->t_->source.info.size);
    if (!body.ok()) return s->Fail(body.error());
    s->PutWhole(std::make_shared<std::string>(std::move(*body)),
                {{"Content-Type", ContentTypeFor(s->t_->source.path)}});
  });
}

// On a worker: hashes the body (MD5 for Content-MD5, CRC64NVME for the object's stored
// full-object checksum, which later downloads verify at memory speed instead of MD5),
// checks it against a plain-MD5 source ETag, then PUTs it.
void ObjectCopy::PutWhole(std::shared_ptr<std::string> body, Headers headers) {
  const std::string md5 = s3::Md5Hex(*body);
  const std::string& source_etag = t_->source.info.etag;
  if (from_ == From::kStream && source_md5_ && s3::IsPlainMd5Etag(source_etag) && md5 != source_etag) {
    return Fail(MakeError(ErrorCode::kIntegrity, "the bytes read have MD5 " + md5 + ", the source's ETag is " +
                                                     source_etag + ": not copied"));
  }
  if (SendsCrc()) {
    auto crc = Checksum::Make("CRC64NVME");
    crc->Update(body->data(), body->size());
    headers.emplace_back("x-amz-sdk-checksum-algorithm", "CRC64NVME");
    headers.emplace_back("x-amz-checksum-crc64nvme", crc->FinishBase64());
  }
  std::shared_ptr<const std::string> shared = std::move(body);
  Call(
      ctx_, DstTransport(),
      [s = self(), shared, md5, headers] {
        return s->Dst().PutObject(s->DstBucket(), s->t_->dst_key, shared, s3::HexMd5ToBase64(md5), headers);
      },
      [md5](const http::Response& r) { return s3::EtagIsMd5(r, md5); },
      [s = self(), md5, length = shared->size()](Result<http::Response> r) {
        if (!r.ok() && r.error().http_status == 413) return s->BodyTooLarge(r.error(), length);
        if (!r.ok() && s->RefusedForChecksums(r.error())) return s->ChecksumsRefused(r.error());
        if (!r.ok()) return s->Fail(r.error());
        s->Landed(StripQuotes(r->Header("etag")), md5, s3::EtagsAreMd5(r->headers));
      });
}

// A whole object landed with `etag`; `expected` is the source's ETag or what was sent.
// `md5`: the destination's ETags are content MD5s (no KMS or customer-key encryption).
void ObjectCopy::Landed(const std::string& etag, const std::string& expected, bool md5) {
  const std::string& source_etag = t_->source.info.etag;
  if (md5 && source_md5_ && s3::IsPlainMd5Etag(etag) && s3::IsPlainMd5Etag(expected) && etag != expected) {
    return Fail(MakeError(ErrorCode::kIntegrity, "the copy's ETag " + etag + " differs from " + expected));
  }
  t_->etag = etag;
  t_->verified_by = etag == source_etag ? "etag" : from_ == From::kServer ? "server" : "md5";
  ctx_.stats.bytes_committed += t_->source.info.size;
  Finish();
}

// The destination implements no UploadPartCopy (s3rver, some gateways): this object's
// upload is aborted and it is copied whole, and so are the objects after it.
void ObjectCopy::PartCopyUnsupported(const Error& e) {
  if (!ctx_.part_copy_unsupported.exchange(true)) {
    spdlog::warn("the destination does not implement UploadPartCopy ({}): objects up to 5 GiB are copied whole "
                 "with CopyObject, which does not keep their part layout",
                 e.ToString());
  }
  AbortUpload([s = self()] { s->CopyWholeInstead(); });
}

void ObjectCopy::CopyWholeInstead() {
  if (t_->source.info.size > kMaxCopyObjectBytes) return StreamInstead();
  CopyWhole();
}

// CopyObject cannot copy this object (too large for it, and no UploadPartCopy when that
// was the fallback): its bytes stream through riptide in parts (GET ranges →
// UploadPart), checked as any streamed copy.
void ObjectCopy::StreamInstead() {
  spdlog::warn("{}: too large for CopyObject without UploadPartCopy, so its bytes stream through riptide",
               t_->source.info.key);
  from_ = From::kStream;
  lengths_.clear();
  same_layout_ = false;
  Describe();
}

uint64_t ObjectCopy::PartSize() const {
  const uint64_t cap = ctx_.body_cap;
  const uint64_t preferred = cap ? std::min<uint64_t>(ctx_.options.part_size, cap) : ctx_.options.part_size;
  return planner::UploadPartSize(t_->source.info.size, preferred);
}

void ObjectCopy::BodyTooLarge(const Error& e, uint64_t length) {
  if (length <= planner::kMinUploadPart) {
    return Fail(MakeError(ErrorCode::kProtocol,
                          "the destination refuses a body of " + std::to_string(length) + " bytes (" + e.ToString() +
                              "), and S3 parts cannot be smaller than 5 MiB (--part-size)"));
  }
  const uint64_t cap = std::max(planner::kMinUploadPart, length / 2);
  uint64_t seen = ctx_.body_cap;
  while ((seen == 0 || cap < seen) && !ctx_.body_cap.compare_exchange_weak(seen, cap)) {
  }
  if (seen == 0 || cap < seen) {
    spdlog::warn("the destination refuses a body of {} bytes ({}): bodies of at most {} bytes from now on",
                 length, e.ToString(), cap);
  }
  StartOver();
}

void ObjectCopy::ChecksumsRefused(const Error& e) {
  if (!ctx_.checksums_refused.exchange(true)) {
    spdlog::warn("the destination refuses CRC64NVME checksums ({}): objects go on without them, proved by "
                 "Content-MD5 and their ETags",
                 e.ToString());
  }
  StartOver();
}

// The object starts over as a new copy with the same task and report (taking the run's
// settings as they are now), its open upload aborted first.
void ObjectCopy::StartOver() {
  AbortUpload([s = self()] { std::make_shared<ObjectCopy>(s->ctx_, s->t_, std::move(s->done_))->Start(); });
}

// The object failed for good: its multipart upload, if any, is aborted first.
void ObjectCopy::Fail(Error e) {
  t_->error = std::move(e);
  AbortUpload([s = self()] { s->Finish(); });
}

// Aborts the object's open multipart upload, if any, then runs `then`.
void ObjectCopy::AbortUpload(std::function<void()> then) {
  if (upload_id_.empty()) return then();
  const std::string id = std::exchange(upload_id_, std::string());
  Call(
      ctx_, DstTransport(), [s = self(), id] { return s->Dst().AbortMultipartUpload(s->DstBucket(), s->t_->dst_key, id); },
      nullptr,
      [s = self(), id, then = std::move(then)](Result<http::Response> r) {
        // A stopped run's cancelled abort is tried again at the end, on a fresh transport.
        if (r.ok() || r.error().code != ErrorCode::kCancelled) s->ctx_.uploads.Remove(id);
        if (!r.ok() && r.error().s3_code != "NoSuchUpload" && r.error().code != ErrorCode::kCancelled) {
          spdlog::warn("could not abort the upload of {} ({}): {}; `riptide cleanup` removes it later",
                       s->t_->dst_key, id, r.error().ToString());
        }
        then();
      });
}

void ObjectCopy::Finish() {
  auto done = std::move(done_);
  if (done) done(t_);
}

}  // namespace riptide::engine::copy_internal
