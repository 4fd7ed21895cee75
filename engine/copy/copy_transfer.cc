#include "engine/copy/copy_transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/core/async_call.h"
#include "engine/core/checksums.h"
#include "engine/core/part_window.h"
#include "engine/copy/copy_support.h"
#include "engine/core/listing.h"
#include "planner/copy_plan.h"
#include "planner/part_plan.h"
#include "transport/s3/crypto.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

using Headers = s3::RequestFactory::Headers;
constexpr uint64_t kMiB = 1ull << 20;

// Every call of a copy retries by the run's policy and stops with the run.
struct Call {
  static void Run(CopyContext& ctx, http::Transport& transport, AsyncCall::Make make, AsyncCall::Check check,
                  AsyncCall::Done done, uint64_t body_limit = 1u << 20) {
    AsyncCall::Run(transport, RetryScope{ctx.options.retry, &ctx.stop, &ctx.stats.retries}, std::move(make),
                   std::move(check), std::move(done), body_limit);
  }
};

class ObjectCopy : public std::enable_shared_from_this<ObjectCopy> {
 public:
  ObjectCopy(CopyContext& ctx, CopyTaskPtr t, std::function<void(CopyTaskPtr)> done)
      : ctx_(ctx), t_(std::move(t)), done_(std::move(done)) {}

  void Start() {
    const StreamEntry& src = t_->source;
    from_ = !src.path.empty() ? From::kLocal : ctx_.server_side ? From::kServer : From::kStream;
    const CopyShape shape = ShapeOf(ctx_, src);
    if (shape.parts == 1 && s3::MultipartEtagParts(src.info.etag) == 0) {
      switch (from_) {
        case From::kServer: return CopyWhole();
        case From::kStream: return StreamWhole();
        case From::kLocal: return UploadWhole();
      }
    }
    if (from_ == From::kLocal) {
      metadata_ = {{"Content-Type", ContentTypeFor(src.path)}};
      lengths_ = planner::CutParts(src.info.size, planner::UploadPartSize(src.info.size, ctx_.options.part_size));
      return Create();
    }
    Describe();
  }

 private:
  enum class From { kServer, kStream, kLocal };

  const s3::RequestFactory& Dst() const { return ctx_.destination_requests; }
  const std::string& DstBucket() const { return ctx_.options.destination.bucket; }
  s3::CopySource Source() const { return {ctx_.options.source->bucket, t_->source.info.key, t_->source.info.etag}; }
  http::Transport& SrcTransport() { return ctx_.source_transport; }
  http::Transport& DstTransport() { return ctx_.destination_transport; }
  std::shared_ptr<ObjectCopy> self() { return shared_from_this(); }

  // Server-side, one request: CopyObject carries the metadata along (directive COPY).
  void CopyWhole() {
    Call::Run(
        ctx_, DstTransport(), [s = self()] { return s->Dst().CopyObject(s->DstBucket(), s->t_->dst_key, s->Source()); },
        EtagInBody,
        [s = self()](Result<http::Response> r) {
          if (!r.ok()) return s->Fail(r.error());
          s->Landed(*s3::ParseResultEtag(r->body), s->t_->source.info.etag, s3::EtagsAreMd5(r->headers));
        });
  }

  // Streamed, one request each way: GET (the source's metadata in its headers), then PUT.
  void StreamWhole() {
    const uint64_t size = t_->source.info.size;
    Call::Run(
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

  void UploadWhole() {
    ctx_.schedule([s = self()] {
      auto body = ReadLocalRange(s->t_->source, 0, s->t_->source.info.size);
      if (!body.ok()) return s->Fail(body.error());
      s->PutWhole(std::make_shared<std::string>(std::move(*body)),
                  {{"Content-Type", ContentTypeFor(s->t_->source.path)}});
    });
  }

  // On a worker: hashes the body (MD5 for Content-MD5, CRC32C for the object's stored
  // checksum), checks it against a plain-MD5 source ETag, then PUTs it.
  void PutWhole(std::shared_ptr<std::string> body, Headers headers) {
    const std::string md5 = s3::Md5Hex(*body);
    const std::string& source_etag = t_->source.info.etag;
    if (from_ == From::kStream && source_md5_ && s3::IsPlainMd5Etag(source_etag) && md5 != source_etag) {
      return Fail(MakeError(ErrorCode::kIntegrity, "the bytes read have MD5 " + md5 + ", the source's ETag is " +
                                                       source_etag + ": not copied"));
    }
    auto crc = Checksum::Make("CRC32C");
    crc->Update(body->data(), body->size());
    headers.emplace_back("x-amz-checksum-crc32c", crc->FinishBase64());
    std::shared_ptr<const std::string> shared = std::move(body);
    Call::Run(
        ctx_, DstTransport(),
        [s = self(), shared, md5, headers] {
          return s->Dst().PutObject(s->DstBucket(), s->t_->dst_key, shared, s3::HexMd5ToBase64(md5), headers);
        },
        [md5](const http::Response& r) { return s3::EtagIsMd5(r, md5); },
        [s = self(), md5](Result<http::Response> r) {
          if (!r.ok()) return s->Fail(r.error());
          s->Landed(StripQuotes(r->Header("etag")), md5, s3::EtagsAreMd5(r->headers));
        });
  }

  // A whole object landed with `etag`; `expected` is the source's ETag or what was sent.
  // `md5`: the destination's ETags are content MD5s (no KMS or customer-key encryption).
  void Landed(const std::string& etag, const std::string& expected, bool md5) {
    const std::string& source_etag = t_->source.info.etag;
    if (md5 && source_md5_ && s3::IsPlainMd5Etag(etag) && s3::IsPlainMd5Etag(expected) && etag != expected) {
      return Fail(MakeError(ErrorCode::kIntegrity, "the copy's ETag " + etag + " differs from " + expected));
    }
    t_->etag = etag;
    t_->verified_by = etag == source_etag ? "etag" : from_ == From::kServer ? "server" : "md5";
    ctx_.stats.bytes_committed += t_->source.info.size;
    Finish();
  }

  // HEAD of the source: its metadata (Content-Type, x-amz-meta-*), and its ETag still
  // the one listed. Some servers leave the metadata out of a part's HEAD, so this one is whole.
  void Describe() {
    Call::Run(
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
          s->lengths_ = planner::CutParts(info.size, planner::UploadPartSize(info.size, s->ctx_.options.part_size));
          s->Create();
        });
  }

  // HEAD ?partNumber=1 of a multipart source: the size of its first part, so the copy is
  // cut the same way and ends with the same ETag. Without an answer, riptide's own cut.
  void ProbeLayout() {
    Call::Run(
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
            if (!layout.empty() && (parts == 1 || *first >= planner::kMinUploadPart)) {
              s->lengths_ = std::move(layout);
              s->same_layout_ = true;
            }
          }
          if (s->lengths_.empty()) {
            s->lengths_ = planner::CutParts(info.size, planner::UploadPartSize(info.size, s->ctx_.options.part_size));
          }
          s->Create();
        });
  }

  void Create() {
    Call::Run(
        ctx_, DstTransport(),
        [s = self()] { return s->Dst().CreateMultipartUpload(s->DstBucket(), s->t_->dst_key, s->metadata_); },
        [](const http::Response& r) {
          auto id = s3::ParseInitiateMultipartUpload(r.body);
          return id.ok() ? OkStatus() : Status(id.error());
        },
        [s = self()](Result<http::Response> r) {
          if (!r.ok()) return s->Fail(r.error());
          s->upload_id_ = *s3::ParseInitiateMultipartUpload(r->body);
          s->ctx_.uploads.Add(s->upload_id_, s->t_->dst_key);
          s->BeginParts();
        });
  }

  void BeginParts() {
    const size_t n = lengths_.size();
    offsets_.assign(n, 0);
    for (size_t i = 1; i < n; ++i) offsets_[i] = offsets_[i - 1] + lengths_[i - 1];
    etags_.assign(n, {});
    sent_md5_.assign(n, {});
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
          if (error) return s->Fail(*error);
          s->Complete();
        });
    window_->Launch();
  }

  void RunPart(size_t i) {
    const s3::ByteRange range{offsets_[i], offsets_[i] + lengths_[i] - 1};
    const int number = static_cast<int>(i) + 1;
    switch (from_) {
      case From::kServer:
        Call::Run(
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
        Call::Run(
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

  // On a worker: the part's MD5, then its UploadPart.
  void SendPart(size_t i, std::shared_ptr<const std::string> body) {
    const std::string md5 = s3::Md5Hex(*body);
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_md5_[i] = md5;
    }
    const int number = static_cast<int>(i) + 1;
    Call::Run(
        ctx_, DstTransport(),
        [s = self(), number, body, md5] {
          return s->Dst().UploadPart(s->DstBucket(), s->t_->dst_key, s->upload_id_, number, body,
                                     s3::HexMd5ToBase64(md5));
        },
        [md5](const http::Response& r) { return s3::EtagIsMd5(r, md5); },
        [s = self(), i, md5](Result<http::Response> r) {
          if (!r.ok()) return s->PartFinished(i, r.error());
          s->ctx_.stats.bytes_committed += s->lengths_[i];
          std::string etag = StripQuotes(r->Header("etag"));
          s->PartFinished(i, etag.empty() ? md5 : etag);
        });
  }

  void PartFinished(size_t i, Result<std::string> etag) {
    if (!etag.ok()) return window_->Finished(etag.error());
    {
      std::lock_guard<std::mutex> lock(mu_);
      etags_[i] = std::move(*etag);
    }
    window_->Finished(std::nullopt);
  }

  void Complete() {
    if (ctx_.release) ctx_.release(*t_);
    Call::Run(
        ctx_, DstTransport(),
        [s = self()] { return s->Dst().CompleteMultipartUpload(s->DstBucket(), s->t_->dst_key, s->upload_id_, s->etags_); },
        EtagInBody,
        [s = self()](Result<http::Response> r) {
          if (!r.ok()) return s->Fail(r.error());
          s->ctx_.uploads.Remove(s->upload_id_);
          s->upload_id_.clear();
          s->Completed(*s3::ParseResultEtag(r->body), s3::EtagsAreMd5(r->headers));
        });
  }

  // The upload is complete: its ETag must be the MD5 of the parts' MD5s, and, when the
  // parts were cut as the source's were, the source's own ETag.
  void Completed(const std::string& etag, bool md5) {
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

  // The object failed for good: its multipart upload, if any, is aborted first.
  void Fail(Error e) {
    t_->error = std::move(e);
    if (upload_id_.empty()) return Finish();
    const std::string id = upload_id_;
    Call::Run(
        ctx_, DstTransport(), [s = self(), id] { return s->Dst().AbortMultipartUpload(s->DstBucket(), s->t_->dst_key, id); },
        nullptr,
        [s = self(), id](Result<http::Response> r) {
          // A stopped run's cancelled abort is tried again at the end, on a fresh transport.
          if (r.ok() || r.error().code != ErrorCode::kCancelled) s->ctx_.uploads.Remove(id);
          if (!r.ok() && r.error().s3_code != "NoSuchUpload" && r.error().code != ErrorCode::kCancelled) {
            spdlog::warn("could not abort the upload of {} ({}): {}; `riptide cleanup` removes it later",
                         s->t_->dst_key, id, r.error().ToString());
          }
          s->Finish();
        });
  }

  void Finish() {
    auto done = std::move(done_);
    if (done) done(t_);
  }

  CopyContext& ctx_;
  CopyTaskPtr t_;
  std::function<void(CopyTaskPtr)> done_;
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
};

}  // namespace

void OpenUploads::Add(const std::string& upload_id, const std::string& key) {
  if (journal_) journal_->Opened(upload_id, key);
  std::lock_guard<std::mutex> lock(mu_);
  open_[upload_id] = key;
}

void OpenUploads::Remove(const std::string& upload_id) {
  if (journal_) journal_->Closed(upload_id);
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(upload_id);
}

std::map<std::string, std::string> OpenUploads::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

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

void StartCopy(CopyContext& ctx, CopyTaskPtr task, std::function<void(CopyTaskPtr)> done) {
  std::make_shared<ObjectCopy>(ctx, std::move(task), std::move(done))->Start();
}

std::map<std::string, std::string> AbortUploads(http::Transport& transport, const s3::RequestFactory& requests,
                                                const std::string& bucket,
                                                const std::map<std::string, std::string>& uploads,
                                                const RetryPolicy& retry) {
  ListTarget target{transport, requests, bucket, retry};
  std::map<std::string, std::string> failed;
  for (const auto& [id, key] : uploads) {
    s3::UploadInfo upload;
    upload.key = key;
    upload.upload_id = id;
    if (Status st = AbortUpload(target, upload); st.ok()) {
      spdlog::info("aborted the unfinished upload of {}", key);
    } else {
      spdlog::warn("could not abort the upload of {} ({}): {}; `riptide cleanup` removes it later", key, id,
                   st.error().ToString());
      failed[id] = key;
    }
  }
  return failed;
}

}  // namespace riptide::engine
