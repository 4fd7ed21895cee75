// ObjectCopy in parts: the source described, its part layout probed, then
// Create → parts through a PartWindow → Complete, checked against the parts sent.
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

// HEAD of the source: its metadata (Content-Type, x-amz-meta-*), and its ETag still
// the one listed. Some servers leave the metadata out of a part's HEAD, so this one is whole.
void ObjectCopy::Describe() {
  Call(
      ctx_, SrcTransport(),
      [s = self()] {
        return s->ctx_.source_requests->HeadObject(s->ctx_.options.source->bucket, s->t_->source.info.key);
      },
      nullptr,
      [s = self()](Result<http::Response> r) {
        if (!r.ok()) return s->Fail(r.error());
        const auto& info = s->t_->source.info;
        const std::string etag = StripQuotes(r->Header("etag"));
        if (!etag.empty() && etag != info.etag) {
          return s->Fail(MakeError(ErrorCode::kPrecondition,
                                   "the source changed after it was listed (ETag " + etag + "): the next run copies it"));
        }
        s->metadata_ = s3::MetadataOf(r->headers);
        s->source_md5_ = s3::EtagsAreMd5(r->headers);
        if (s3::MultipartEtagParts(info.etag) > 0) return s->ProbeLayout();
        s->lengths_ = planner::CutParts(info.size, s->PartSize());
        s->Create();
      });
}

// HEAD ?partNumber=1 of a multipart source: the size of its first part, so the copy is
// cut the same way and ends with the same ETag. Without an answer, riptide's own cut.
void ObjectCopy::ProbeLayout() {
  Call(
      ctx_, SrcTransport(),
      [s = self()] {
        return s->ctx_.source_requests->HeadObject(s->ctx_.options.source->bucket, s->t_->source.info.key, 1);
      },
      nullptr,
      [s = self()](Result<http::Response> r) {
        const auto& info = s->t_->source.info;
        const int parts = s3::MultipartEtagParts(info.etag);
        // The destination takes the layout only if it is uniform and its parts are
        // big enough for S3 (every part but the last ≥ 5 MiB).
        if (auto first = r.ok() ? s3::FirstPartSize(info.etag, r->headers) : std::nullopt) {
          auto layout = planner::UniformUploadParts(info.size, *first, parts);
          const uint64_t cap = s->ctx_.body_cap;
          if (!layout.empty() && (parts == 1 || *first >= planner::kMinUploadPart) && (cap == 0 || *first <= cap)) {
            s->lengths_ = std::move(layout);
            s->same_layout_ = true;
          }
        }
        if (s->lengths_.empty()) {
          s->lengths_ = planner::CutParts(info.size, s->PartSize());
        }
        s->Create();
      });
}

void ObjectCopy::Create() {
  Call(
      ctx_, DstTransport(),
      [s = self()] {
        Headers headers = s->metadata_;
        if (s->SendsCrc()) {
          headers.emplace_back("x-amz-checksum-algorithm", "CRC64NVME");
          headers.emplace_back("x-amz-checksum-type", "FULL_OBJECT");
        }
        return s->Dst().CreateMultipartUpload(s->DstBucket(), s->t_->dst_key, std::move(headers));
      },
      [](const http::Response& r) {
        auto id = s3::ParseInitiateMultipartUpload(r.body);
        return id.ok() ? OkStatus() : Status(id.error());
      },
      [s = self()](Result<http::Response> r) {
        if (!r.ok() && s->RefusedForChecksums(r.error())) return s->ChecksumsRefused(r.error());
        if (!r.ok()) return s->Fail(r.error());
        s->upload_id_ = *s3::ParseInitiateMultipartUpload(r->body);
        s->ctx_.uploads.Add(s->upload_id_, s->t_->dst_key);
        s->BeginParts();
      });
}

void ObjectCopy::BeginParts() {
  const size_t n = lengths_.size();
  offsets_.assign(n, 0);
  for (size_t i = 1; i < n; ++i) offsets_[i] = offsets_[i - 1] + lengths_[i - 1];
  etags_.assign(n, {});
  sent_md5_.assign(n, {});
  sent_crc_.assign(n, 0);
  int width = std::max(1, t_->slots);
  if (from_ != From::kServer) {
    // Bodies are held in memory: no more parts at once than the object's memory allows.
    const uint64_t largest = *std::max_element(lengths_.begin(), lengths_.end());
    const uint64_t per_part = std::max<uint64_t>(1, (largest + kMiB - 1) / kMiB);
    width = static_cast<int>(std::clamp<uint64_t>(static_cast<uint64_t>(t_->memory_mib) / per_part, 1,
                                                  static_cast<uint64_t>(width)));
  }
  std::vector<size_t> parts(n);
  for (size_t i = 0; i < n; ++i) parts[i] = i;
  window_ = PartWindow::Make(
      std::move(parts), width, ctx_.stop, [s = self()](size_t i) { s->RunPart(i); },
      [s = self()](std::optional<Error> error) {
        s->window_.reset();  // breaks the cycle copy → window → callbacks → copy
        if (error && s->from_ == From::kServer && s3::IsNotImplemented(*error)) return s->PartCopyUnsupported(*error);
        if (error && error->http_status == 413) {
          return s->BodyTooLarge(*error, *std::max_element(s->lengths_.begin(), s->lengths_.end()));
        }
        if (error && s->RefusedForChecksums(*error)) return s->ChecksumsRefused(*error);
        if (error) return s->Fail(*error);
        s->Complete();
      });
  window_->Launch();
}

void ObjectCopy::RunPart(size_t i) {
  const s3::ByteRange range{offsets_[i], offsets_[i] + lengths_[i] - 1};
  const int number = static_cast<int>(i) + 1;
  switch (from_) {
    case From::kServer:
      Call(
          ctx_, DstTransport(),
          [s = self(), number, range] {
            return s->Dst().UploadPartCopy(s->DstBucket(), s->t_->dst_key, s->upload_id_, number, s->Source(), range);
          },
          EtagInBody,
          [s = self(), i](Result<http::Response> r) {
            if (!r.ok()) return s->PartFinished(i, r.error());
            s->ctx_.stats.bytes_committed += s->lengths_[i];
            s->PartFinished(i, *s3::ParseResultEtag(r->body));
          });
      return;
    case From::kStream:
      Call(
          ctx_, SrcTransport(),
          [s = self(), range] {
            const auto& info = s->t_->source.info;
            return s->ctx_.source_requests->GetObject(s->ctx_.options.source->bucket, info.key, range, info.etag);
          },
          [length = lengths_[i]](const http::Response& r) -> Status {
            if (r.body.size() == length) return OkStatus();
            return MakeError(ErrorCode::kNetwork, "a part came with " + std::to_string(r.body.size()) + " of " +
                                                      std::to_string(length) + " bytes", true);
          },
          [s = self(), i](Result<http::Response> r) {
            if (!r.ok()) return s->PartFinished(i, r.error());
            s->ctx_.stats.bytes_received += r->body.size();
            auto body = std::make_shared<const std::string>(std::move(r->body));
            s->ctx_.schedule([s, i, body] { s->SendPart(i, body); });
          },
          lengths_[i]);
      return;
    case From::kLocal:
      ctx_.schedule([s = self(), i] {
        auto body = ReadLocalRange(s->t_->source, s->offsets_[i], s->lengths_[i]);
        if (!body.ok()) return s->PartFinished(i, body.error());
        s->SendPart(i, std::make_shared<const std::string>(std::move(*body)));
      });
      return;
  }
}

// On a worker: the part's MD5 and CRC64NVME, then its UploadPart.
void ObjectCopy::SendPart(size_t i, std::shared_ptr<const std::string> body) {
  const std::string md5 = s3::Md5Hex(*body);
  const uint64_t crc = SendsCrc() ? Crc64Nvme(0, body->data(), body->size()) : 0;
  std::string crc_header = SendsCrc() ? Crc64NvmeBase64(crc) : "";
  {
    std::lock_guard<std::mutex> lock(mu_);
    sent_md5_[i] = md5;
    sent_crc_[i] = crc;
  }
  const int number = static_cast<int>(i) + 1;
  Call(
      ctx_, DstTransport(),
      [s = self(), number, body, md5, crc_header = std::move(crc_header)] {
        return s->Dst().UploadPart(s->DstBucket(), s->t_->dst_key, s->upload_id_, number, body,
                                   s3::HexMd5ToBase64(md5), crc_header);
      },
      [md5](const http::Response& r) { return s3::EtagIsMd5(r, md5); },
      [s = self(), i, md5](Result<http::Response> r) {
        if (!r.ok()) return s->PartFinished(i, r.error());
        s->ctx_.stats.bytes_committed += s->lengths_[i];
        std::string etag = StripQuotes(r->Header("etag"));
        s->PartFinished(i, etag.empty() ? md5 : etag);
      });
}

void ObjectCopy::PartFinished(size_t i, Result<std::string> etag) {
  if (!etag.ok()) return window_->Finished(etag.error());
  {
    std::lock_guard<std::mutex> lock(mu_);
    etags_[i] = std::move(*etag);
  }
  window_->Finished(std::nullopt);
}

void ObjectCopy::Complete() {
  if (ctx_.release) ctx_.release(*t_);
  std::shared_ptr<s3::UploadCrc> crc;
  if (SendsCrc()) {
    crc = std::make_shared<s3::UploadCrc>();
    uint64_t whole = 0;
    for (size_t i = 0; i < sent_crc_.size(); ++i) {
      crc->parts.push_back(Crc64NvmeBase64(sent_crc_[i]));
      whole = Crc64NvmeCombine(whole, sent_crc_[i], lengths_[i]);
    }
    crc->whole = Crc64NvmeBase64(whole);
  }
  Call(
      ctx_, DstTransport(),
      [s = self(), crc] {
        return s->Dst().CompleteMultipartUpload(s->DstBucket(), s->t_->dst_key, s->upload_id_, s->etags_, crc.get());
      },
      EtagInBody,
      [s = self()](Result<http::Response> r) {
        if (!r.ok() && s->RefusedForChecksums(r.error())) return s->ChecksumsRefused(r.error());
        if (!r.ok()) return s->Fail(r.error());
        s->ctx_.uploads.Remove(s->upload_id_);
        s->upload_id_.clear();
        s->Completed(*s3::ParseResultEtag(r->body), s3::EtagsAreMd5(r->headers));
      });
}

// The upload is complete: its ETag must be the MD5 of the parts' MD5s, and, when the
// parts were cut as the source's were, the source's own ETag.
void ObjectCopy::Completed(const std::string& etag, bool md5) {
  const std::string composite = s3::CompositeEtag(from_ == From::kServer ? etags_ : sent_md5_);
  const std::string& source_etag = t_->source.info.etag;
  if (md5 && s3::MultipartEtagParts(etag) > 0) {
    if (!composite.empty() && etag != composite) {
      return Fail(MakeError(ErrorCode::kIntegrity,
                            "the destination's ETag " + etag + " is not that of the parts sent (" + composite + ")"));
    }
    if (same_layout_ && source_md5_ && etag != source_etag) {
      return Fail(MakeError(ErrorCode::kIntegrity,
                            "the copy's ETag " + etag + " differs from the source's " + source_etag));
    }
  }
  t_->etag = etag;
  t_->verified_by = etag == source_etag ? "etag" : from_ == From::kServer ? "server" : "md5";
  Finish();
}

}  // namespace riptide::engine::copy_internal
