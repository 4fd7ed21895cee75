// The fetch stage: each object's parts run as GETs on the transport, at most `slots`
// at a time, each streaming with pwrite at its offset straight from curl's buffer.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "engine/core/md5_lanes.h"
#include "engine/core/part_window.h"
#include "engine/download/stages.h"
#include "transport/s3/errors.h"
#include "transport/s3/responses.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

using Mode = planner::PartPlan::Mode;

std::string Header(const http::HeaderMap& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? std::string() : it->second;
}

// The strongest full-object additional checksum in a response; composite ones are
// left to the part MD5s.
void TakeChecksum(const http::HeaderMap& h, Transfer& t) {
  if (auto c = s3::FullObjectChecksum(h)) {
    t.checksum_algorithm = std::move(c->algorithm);
    t.checksum_value = std::move(c->value);
  }
}

// A hasher for an object's bytes as they land, or none where verify does better: an
// upload's parts are hashed at verify side by side in the MD5 lanes where the CPU has
// them; a whole object goes to the rounds only for an MD5 the lanes can share, and only
// when it is big enough to be worth a round's hand-offs.
std::shared_ptr<StreamHasher> MakeHasher(const Transfer& t, RunContext& ctx) {
  constexpr uint64_t kWholeWorthARound = 16 << 10;
  const bool by_checksum = t.ProvedByChecksum();
  const bool whole_md5 = !by_checksum && s3::IsPlainMd5Etag(t.object.etag);
  const int upload_parts = by_checksum ? 0 : s3::MultipartEtagParts(t.object.etag);
  if (t.mode == Mode::kWhole && !(whole_md5 && md5::HaveLanes() && t.object.size >= kWholeWorthARound)) {
    return nullptr;
  }
  std::vector<uint64_t> lengths;
  if (upload_parts > 0 && t.upload_part_size > 0) {
    lengths = planner::UniformUploadParts(t.object.size, t.upload_part_size, upload_parts);
  }
  if (upload_parts > 0 && (lengths.empty() || md5::HaveLanes())) return nullptr;
  return std::make_shared<StreamHasher>(t.temp.file.get(), whole_md5, std::move(lengths), t.checksum_algorithm,
                                        ctx.hash_rounds);
}

// One object's fetch: its parts run through a PartWindow of `slots` requests, and the
// object is reported once the window is done.
class ObjectFetch : public std::enable_shared_from_this<ObjectFetch> {
 public:
  ObjectFetch(RunContext& ctx, TransferPtr t) : ctx(ctx), t(std::move(t)) {}

  /// Starts the first window of parts; `done` gets the transfer once all have finished.
  void Launch(std::function<void(TransferPtr)> done);
  /// Called once per part when it has succeeded or failed for good.
  void PartFinished(std::optional<Error> error) { window_->Finished(std::move(error)); }

  RunContext& ctx;
  TransferPtr t;

 private:
  std::shared_ptr<PartWindow> window_;
};

// One part's GET, retried by itself after a backoff; the retry never leaves the
// transport's thread.
class PartHandler final : public http::ResponseHandler, public std::enable_shared_from_this<PartHandler> {
 public:
  PartHandler(std::shared_ptr<ObjectFetch> fetch, size_t index)
      : fetch_(std::move(fetch)), t_(*fetch_->t), part_(t_.parts[index]) {}

  void Start(std::chrono::milliseconds delay) {
    status_ = 0;
    error_body_.clear();
    io_errno_ = 0;
    headers_ok_ = false;
    part_.received = 0;
    told_ = 0;
    ++attempts_;
    RunContext& ctx = fetch_->ctx;
    const auto& req = part_.request;
    http::Request r;
    if (part_.probe) {
      // No If-Match: moto answers it with 412 on part HEADs; the ranged GETs carry it.
      r = ctx.requests.HeadObject(ctx.options.bucket, t_.object.key, part_.asks_checksum ? 0 : 1);
    } else if (t_.mode == Mode::kWhole) {
      // A whole GET needs no If-Match: its own headers describe the bytes it brings.
      r = ctx.requests.GetObject(ctx.options.bucket, t_.object.key);
    } else {
      r = ctx.requests.GetObject(ctx.options.bucket, t_.object.key, s3::ByteRange{req.first, req.last},
                                 t_.object.etag);
    }
    started_ = std::chrono::steady_clock::now();
    ctx.transport.Submit(std::move(r), shared_from_this(), delay);
  }

  void OnHeaders(int status, const http::HeaderMap& headers) override {
    status_ = status;
    headers_ = headers;
    if (!s3::IsSuccess(status)) return;
    if (Status st = TakeHeaders(status, headers); !st.ok()) {
      header_error_ = st.error();
      return;
    }
    headers_ok_ = true;
  }

  bool OnBody(std::string_view chunk) override {
    if (!s3::IsSuccess(status_)) {
      if (error_body_.size() < 65536) error_body_.append(chunk.substr(0, 65536 - error_body_.size()));
      return true;
    }
    if (!headers_ok_) return false;
    if (part_.received + chunk.size() > part_.length) {
      header_error_ = MakeError(ErrorCode::kProtocol, "the server sent more bytes than it announced", true);
      return false;
    }
    const char* p = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      ssize_t n = ::pwrite(t_.temp.file.get(), p, left, static_cast<off_t>(part_.offset + part_.received));
      if (n < 0) {
        if (errno == EINTR) continue;
        io_errno_ = errno;
        return false;
      }
      p += n;
      left -= static_cast<size_t>(n);
      part_.received += static_cast<uint64_t>(n);
    }
    fetch_->ctx.stats.bytes_received.fetch_add(chunk.size(), std::memory_order_relaxed);
    // The bytes so far can be hashed beside other objects' while the rest arrives.
    if (part_.received - told_ >= kTellEvery) TellHasher();
    return true;
  }

  void OnComplete() override {
    if (part_.asks_checksum && !s3::IsSuccess(status_) && status_ < 500) {
      return Finish(std::nullopt);  // nothing learned; the object's ETag still proves it
    }
    if (part_.probe && !s3::IsSuccess(status_) && status_ != 412) {
      // Not every server tells part sizes: the object is then checked by size only.
      t_.probe_unsupported = status_ < 500;
      if (t_.probe_unsupported) return Finish(std::nullopt);
    }
    if (!s3::IsSuccess(status_)) return Retry(s3::ErrorFromParts(status_, headers_, error_body_));
    if (!headers_ok_) return Retry(*header_error_);
    if (part_.received != part_.length) {
      return Retry(MakeError(ErrorCode::kNetwork,
                             "body ended after " + std::to_string(part_.received) + " of " +
                                 std::to_string(part_.length) + " bytes",
                             true));
    }
    if (!part_.probe) TellHasher();
    if (t_.journaled && !part_.probe) {
      // The journal makes the bytes durable (on its thread) before recording the part.
      int fd = ::dup(t_.temp.file.get());
      if (fd >= 0) fetch_->ctx.journal.PartDone(t_.object.key, part_.request.index, fd);
    }
    Finish(std::nullopt);
  }

  void OnFailure(Error error) override {
    if (io_errno_ != 0) {
      return Finish(IoError("cannot write", fetch_->ctx.dataset.root() + "/" + t_.path, io_errno_));
    }
    if (header_error_) return Retry(*header_error_);
    Retry(std::move(error));
  }

 private:
  // Learns where this response's bytes go, and checks they belong to the object planned.
  Status TakeHeaders(int status, const http::HeaderMap& headers) {
    const std::string length = Header(headers, "content-length");
    const uint64_t content_length = std::strtoull(length.c_str(), nullptr, 10);
    if (part_.asks_checksum) {
      // A plain HEAD: the object's full checksum, if it is still the object listed.
      if (StripQuotes(Header(headers, "etag")) == t_.object.etag) TakeChecksum(headers, t_);
      if (t_.ProvedByChecksum()) fetch_->ctx.checksum_heads_told = true;
      part_.length = 0;
      return OkStatus();
    }
    if (part_.probe) {
      // HEAD ?partNumber=1: its Content-Length is the first part's, if the server knows.
      // A checksum in an answer about part 1 may be that part's own (S3 gives part-level
      // values there): only an answer about the whole object (partNumber ignored) counts.
      if (auto first = s3::FirstPartSize(t_.object.etag, headers)) {
        t_.upload_part_size = *first;
      } else {
        t_.probe_unsupported = true;
        TakeChecksum(headers, t_);
      }
      part_.length = 0;
      return OkStatus();
    }
    if (t_.mode == Mode::kWhole) {
      if (length.empty()) return MakeError(ErrorCode::kProtocol, "no Content-Length in the response", true);
      if (content_length != t_.object.size) {
        // Replaced since it was listed, or a server that lies: not a byte is written. The
        // object is asked about again (a HEAD) and planned for what it is now.
        return MakeError(ErrorCode::kPrecondition, "the object is " + length + " bytes now, " +
                                                       std::to_string(t_.object.size) + " when it was listed");
      }
      part_.offset = 0;
      part_.length = content_length;
      if (auto etag = Header(headers, "etag"); !etag.empty()) t_.object.etag = StripQuotes(etag);
      if (int64_t ms = s3::ParseHttpDateMs(Header(headers, "last-modified")); ms >= 0) {
        t_.object.last_modified_ms = ms;
      }
      t_.object.size = content_length;
      TakeChecksum(headers, t_);
      return OkStatus();
    }
    s3::ContentRange range;
    if (status != 206 || !s3::ParseContentRange(Header(headers, "content-range"), &range)) {
      return MakeError(ErrorCode::kProtocol, "the server ignored the Range header");
    }
    if (range.total != t_.object.size) {
      return MakeError(ErrorCode::kPrecondition, "the object changed size during the transfer");
    }
    if (range.first != part_.request.first || range.last != part_.request.last ||
        content_length != part_.length) {
      return MakeError(ErrorCode::kProtocol, "the server answered another range than asked", true);
    }
    return OkStatus();
  }

  // Tells the object's hasher what of this part is on disk, creating the hasher on the
  // first word (by then the probe has usually told a multipart upload's part size). A
  // hasher made later than a part's first word (a probe that answered late) never hears
  // of what that part had: Finish reads the bytes from there on itself. Other parts'
  // counts are not read here: a part starting again writes its own from another thread.
  void TellHasher() {
    told_ = part_.received;
    if (!t_.hasher && t_.resumed_parts.empty()) t_.hasher = MakeHasher(t_, fetch_->ctx);
    if (t_.hasher) t_.hasher->RangeDone(part_.offset, part_.received);
  }

  void Retry(Error e) {
    RunContext& ctx = fetch_->ctx;
    if (auto delay = ctx.options.retry.NextTry(e, attempts_, ctx.stop)) {
      ctx.stats.CountRetry(e);
      spdlog::debug("retrying {} (part {}, attempt {}) in {} ms: {}", t_.object.key, part_.request.index,
                    attempts_ + 1, delay->count(), e.ToString());
      return Start(*delay);
    }
    Finish(std::move(e));
  }

  void Finish(std::optional<Error> error) {
    fetch_->ctx.stats.ns_network += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started_).count());
    auto fetch = std::move(fetch_);
    fetch->PartFinished(std::move(error));
  }

  std::shared_ptr<ObjectFetch> fetch_;
  Transfer& t_;
  PartState& part_;
  static constexpr uint64_t kTellEvery = 1 << 20;  // the hasher hears of a part's bytes this often
  int attempts_ = 0;
  uint64_t told_ = 0;  // part_.received when the hasher last heard
  int status_ = 0;
  http::HeaderMap headers_;
  std::string error_body_;
  std::optional<Error> header_error_;
  bool headers_ok_ = false;
  int io_errno_ = 0;
  std::chrono::steady_clock::time_point started_;
};

void ObjectFetch::Launch(std::function<void(TransferPtr)> done) {
  std::vector<size_t> parts;
  for (size_t i = 0; i < t->parts.size(); ++i) {
    if (!t->parts[i].skip) parts.push_back(i);
  }
  // The window holds this fetch (through its callbacks) until the last part is in.
  window_ = PartWindow::Make(
      std::move(parts), t->slots, ctx.stop,
      [self = shared_from_this()](size_t index) {
        std::make_shared<PartHandler>(self, index)->Start(std::chrono::milliseconds(0));
      },
      [self = shared_from_this(), done = std::move(done)](std::optional<Error> error) mutable {
        if (error) self->t->error = std::move(error);
        self->window_.reset();  // breaks the cycle fetch → window → callbacks → fetch
        done(std::move(self->t));
      });
  window_->Launch();
}

// The HEADs that go with an object's first parts, each a bodiless part of its window.
void AddProbes(RunContext& ctx, Transfer& t) {
  auto add = [&t](bool asks_checksum) {
    PartState probe;
    probe.probe = true;
    probe.asks_checksum = asks_checksum;
    t.parts.insert(t.parts.begin(), probe);
  };
  // A multipart upload's ETag is checked part by part: learn the part size alongside.
  if (s3::MultipartEtagParts(t.object.etag) > 0 && t.upload_part_size == 0 && !ctx.part_probe_unsupported) {
    add(false);
  }
  // Ranged GETs carry no checksum: a HEAD asks for the object's, which then proves it
  // at memory speed instead of MD5 (S3 gives new objects a CRC64NVME).
  if (t.mode == Mode::kRanges && !t.ProvedByChecksum() && ctx.AskChecksums()) {
    add(true);
    ctx.checksum_heads++;
  }
}

// The object has landed: its hasher's last round waits for other streams to share the
// lanes, and the transfer goes on to verify with the digest. A hasher that cannot vouch
// for the object (the fetch failed, or the object told another checksum) stays for
// verify to drop: dropping waits for a round, and this is the transport's thread.
void AwaitDigest(TransferPtr t, std::function<void(TransferPtr)> done) {
  if (!t->hasher || t->error || t->hasher->checksum() != t->checksum_algorithm) return done(std::move(t));
  std::shared_ptr<StreamHasher> hasher = std::move(t->hasher);
  hasher->WhenDone([t = std::move(t), done = std::move(done)](Result<FileDigest> digest) mutable {
    t->streamed = std::move(digest);
    done(std::move(t));
  });
}

}  // namespace

void StartFetch(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> done) {
  if (t->folder || t->error) return done(std::move(t));
  if (t->part_sizes == Transfer::PartSizes::kWanted) return AskPartSizes(ctx, std::move(t), std::move(done));
  if (t->refresh) {
    return RefreshObject(ctx, std::move(t), [&ctx, done = std::move(done)](TransferPtr refreshed) mutable {
      StartFetch(ctx, std::move(refreshed), std::move(done));
    });
  }
  if (t->object.size > s3::kMaxObjectBytes) {
    // A HEAD that lies: nothing is planned or allocated for it.
    t->error = MakeError(ErrorCode::kProtocol, "the server claims " + std::to_string(t->object.size) +
                                                   " bytes, beyond the largest object S3 stores");
    return done(std::move(t));
  }
  planner::PartPlan plan = planner::PlanParts(t->object.size, ctx.options.parts);
  t->mode = plan.mode;
  t->parts.clear();
  for (const auto& req : plan.parts) {
    PartState p;
    p.request = req;
    p.offset = req.first;
    p.length = t->object.size == 0 ? 0 : req.last - req.first + 1;
    t->parts.push_back(p);
  }
  AddProbes(ctx, *t);
  if (t->rounds == 0) {
    // Parts an interrupted run already made durable are not fetched again.
    for (auto& p : t->parts) {
      if (!p.probe && t->resumed_parts.count(p.request.index)) {
        p.skip = true;
        p.received = p.length;
        ctx.stats.bytes_resumed += p.length;
      }
    }
  } else {
    // A refetch after a mismatch starts from nothing, and so does its journal.
    t->resumed_parts.clear();
    if (t->journaled) {
      ctx.journal.Begin({t->object.key, t->object.etag, t->object.size, ctx.options.parts.part_size_bytes,
                         t->path, t->temp.temp_name, {}});
    }
  }
  if (t->hasher) t->hasher->Abandon();
  t->hasher.reset();
  t->rounds++;
  // Everything already on disk makes an empty window, done at once.
  std::make_shared<ObjectFetch>(ctx, std::move(t))->Launch([done = std::move(done)](TransferPtr landed) mutable {
    AwaitDigest(std::move(landed), std::move(done));
  });
}

}  // namespace riptide::engine
