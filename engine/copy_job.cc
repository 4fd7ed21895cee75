#include "engine/copy_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/parallel_for.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "engine/budget.h"
#include "engine/copy_merge.h"
#include "engine/copy_support.h"
#include "engine/copy_transfer.h"
#include "engine/hashing.h"
#include "engine/plan_writer.h"
#include "engine/ticker.h"
#include "engine/upload_journal.h"
#include "engine/work_arena.h"
#include "planner/copy_plan.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

namespace flow = oneapi::tbb::flow;
constexpr uint64_t kMiB = 1ull << 20;

// A fixed list of entries (cp of one named object or file).
class EntryStream final : public ObjectStream {
 public:
  explicit EntryStream(std::vector<StreamEntry> entries) : entries_(std::move(entries)) {}
  Result<bool> Next(StreamEntry* out) override {
    if (next_ >= entries_.size()) {
      complete_ = true;
      return false;
    }
    *out = entries_[next_++];
    return true;
  }

 private:
  std::vector<StreamEntry> entries_;
  size_t next_ = 0;
};

bool SameService(const s3::ClientConfig& a, const s3::ClientConfig& b) {
  return a.endpoint.scheme == b.endpoint.scheme && a.endpoint.Authority() == b.endpoint.Authority() &&
         a.endpoint.base_path == b.endpoint.base_path && a.anonymous == b.anonymous &&
         a.credentials.access_key_id == b.credentials.access_key_id &&
         a.credentials.secret_access_key == b.credentials.secret_access_key &&
         a.credentials.session_token == b.credentials.session_token;
}

std::string Describe(const BucketSide& side) { return "s3://" + side.bucket + "/" + side.prefix; }

// The stream of what to copy: one named object or file (cp), a bucket's listing, or a
// directory's walk. Started: an error means nothing can be copied.
Result<std::unique_ptr<ObjectStream>> OpenSource(const CopyOptions& options, http::Transport& src_transport,
                                                 const s3::RequestFactory* src_requests, std::atomic<bool>& stop,
                                                 Stats& stats) {
  if (options.single) {
    const NamedEntry& named = *options.single;
    StreamEntry e;
    e.rel = named.rel;
    if (options.source) {
      const std::string& bucket = options.source->bucket;
      auto head = http::Fetch(src_transport, src_requests->HeadObject(bucket, named.source_key));
      if (head.ok() && !s3::IsSuccess(head->status)) head = s3::ErrorFromResponse(*head);
      if (!head.ok()) {
        Error err = head.error();
        if (err.http_status == 404) {
          err.message = "no object " + named.source_key + " in s3://" + bucket +
                        " (for everything under a prefix, end SRC with /)";
        }
        err.message = "cannot read s3://" + bucket + "/" + named.source_key + ": " + err.message;
        return err;
      }
      e.info.key = named.source_key;
      e.info.size = std::strtoull(head->Header("content-length").c_str(), nullptr, 10);
      e.info.etag = StripQuotes(head->Header("etag"));
    } else {
      struct stat st {};
      if (::stat(named.source_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return MakeError(ErrorCode::kInvalidArgument, "cannot read the file " + named.source_path);
      }
      e.path = named.source_path;
      e.info.size = static_cast<uint64_t>(st.st_size);
      e.info.last_modified_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    return std::unique_ptr<ObjectStream>(std::make_unique<EntryStream>(std::vector<StreamEntry>{std::move(e)}));
  }
  if (options.source) {
    auto s = std::make_unique<BucketStream>(
        ListTarget{src_transport, *src_requests, options.source->bucket, options.retry, &stop, &stats.retries},
        options.source->prefix, options.list_page_size);
    if (Status st = s->Start(); !st.ok()) return st.error();
    return std::unique_ptr<ObjectStream>(std::move(s));
  }
  auto s = std::make_unique<LocalTreeStream>(options.source_dir);
  if (Status st = s->Start(); !st.ok()) return st.error();
  return std::unique_ptr<ObjectStream>(std::move(s));
}

// DeleteObjects in batches of 1,000 keys; keys the server refuses are failures.
uint64_t DeleteBatches(http::Transport& transport, const s3::RequestFactory& requests, const CopyOptions& options,
                       DeleteSpool& spool, Stats& stats, std::atomic<bool>& stop, std::optional<Error>* fatal) {
  ListTarget target{transport, requests, options.destination.bucket, options.retry, &stop, &stats.retries};
  uint64_t deleted = 0;
  std::vector<std::string> keys;
  auto send = [&]() -> Status {
    if (stop) return MakeError(ErrorCode::kCancelled, "stopped before every delete was made");
    auto failures = Retrying<std::vector<s3::DeleteFailure>>(target, [&]() -> Result<std::vector<s3::DeleteFailure>> {
      auto r = http::Fetch(transport, requests.DeleteObjects(options.destination.bucket, keys));
      if (!r.ok()) return r.error();
      if (!s3::IsSuccess(r->status)) return s3::ErrorFromResponse(*r);
      return s3::ParseDeleteResult(r->body);
    });
    if (!failures.ok()) return failures.error();
    for (const auto& f : *failures) stats.AddFailure(f.key, "not deleted: " + f.code + " " + f.message);
    deleted += keys.size() - failures->size();
    keys.clear();
    return OkStatus();
  };
  Status st = spool.ForEach([&](const std::string& key, uint64_t) -> Status {
    keys.push_back(key);
    return keys.size() == kCopyBatch ? send() : OkStatus();
  });
  if (st.ok() && !keys.empty()) st = send();
  if (!st.ok() && !*fatal) *fatal = st.error();
  return deleted;
}

}  // namespace

Result<SyncReport> RunCopy(const CopyOptions& options, std::atomic<bool>& stop, const ProgressFn& progress) {
  const auto started = std::chrono::steady_clock::now();
  const BucketSide& dst_side = options.destination;
  const bool from_bucket = options.source.has_value();

  // One endpoint and one set of credentials: the server copies; otherwise bytes stream
  // through riptide (or come from local files).
  bool server_side = false;
  if (from_bucket) {
    const bool same = SameService(options.source->client, dst_side.client);
    if (options.method == CopyOptions::Method::kServerSide && !same) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "a server-side copy needs SRC and DST on one endpoint with one set of credentials");
    }
    server_side = same && options.method != CopyOptions::Method::kStreamed;
  }

  http::CurlTransport dst_transport(dst_side.transport);
  std::unique_ptr<http::CurlTransport> src_transport_own;
  if (from_bucket && !server_side) src_transport_own = std::make_unique<http::CurlTransport>(options.source->transport);
  http::Transport& src_transport = src_transport_own ? *src_transport_own : dst_transport;
  s3::RequestFactory dst_requests(dst_side.client);
  std::optional<s3::RequestFactory> src_requests;
  if (from_bucket) src_requests.emplace(options.source->client);
  Stats stats;

  // The source stream; its first page doubles as the check of bucket and credentials.
  auto opened = OpenSource(options, src_transport, src_requests ? &*src_requests : nullptr, stop, stats);
  if (!opened.ok()) return opened.error();
  std::unique_ptr<ObjectStream> source = std::move(*opened);
  // The destination's listing: what is there already. cp reads no listing, but one key
  // of it tells a missing bucket or bad credentials before anything is copied.
  ListTarget dst_target{dst_transport, dst_requests, dst_side.bucket, options.retry, &stop, &stats.retries};
  std::unique_ptr<BucketStream> dst_stream;
  if (options.compare) {
    dst_stream = std::make_unique<BucketStream>(dst_target, dst_side.prefix, options.list_page_size);
    if (Status st = dst_stream->Start(); !st.ok()) return st.error();
  } else {
    s3::ListParams probe;
    probe.prefix = dst_side.prefix;
    probe.max_keys = 1;
    if (auto page = ListOnePage(dst_target, probe); !page.ok()) {
      Error e = page.error();
      e.message = "cannot list " + Describe(dst_side) + ": " + e.message;
      return e;
    }
  }
  ObjectStream* destination = dst_stream.get();

  std::unique_ptr<PlanWriter> plan_out;
  if (!options.plan_dir.empty()) {
    auto w = PlanWriter::Open(options.plan_dir);
    if (!w.ok()) return w.error();
    plan_out = std::move(*w);
  }
  const std::string from = from_bucket ? Describe(*options.source) : options.source_dir;
  spdlog::info("copying {} to {} ({}, {} requests in flight)", from, Describe(dst_side),
               !from_bucket ? "upload" : server_side ? "server-side" : "streamed", options.concurrency);

  // Uploads a killed run left open here are aborted before anything new starts.
  std::unique_ptr<UploadJournal> journal;
  if (!options.state_dir.empty() && !options.dry_run) {
    const auto& ep = dst_side.client.endpoint;
    auto j = UploadJournal::Open(options.state_dir, ep.scheme + "://" + ep.Authority() + ep.base_path + "/" +
                                                        dst_side.bucket + "/" + dst_side.prefix);
    if (!j.ok()) return j.error();
    journal = std::move(*j);
    std::map<std::string, std::string> still_open;
    if (const auto& left = journal->leftovers(); !left.empty()) {
      spdlog::info("aborting {} multipart uploads left open by an interrupted run", left.size());
      still_open = AbortUploads(dst_transport, dst_requests, dst_side.bucket, left, options.retry);
    }
    journal->Reset();
    for (const auto& [id, key] : still_open) journal->Opened(id, key);  // tried again next run
  }

  DeleteSpool deletes;
  Merger merger(options, *source, destination, stats, deletes);
  OpenUploads uploads(journal.get());
  Budget slots(std::max(1, options.concurrency));
  const int memory_total = static_cast<int>(std::max<uint64_t>(1, options.memory_limit / kMiB));
  Budget memory(memory_total);
  std::optional<Error> fatal;
  std::mutex fatal_mu;
  auto fail_run = [&](Error e) {
    {
      std::lock_guard<std::mutex> lock(fatal_mu);
      if (!fatal) fatal = std::move(e);
    }
    stop = true;
  };

  WorkArena arena;
  CopyContext ctx{options,        src_transport, dst_transport, src_requests ? &*src_requests : nullptr,
                  dst_requests,   server_side,   stats,         stop,
                  uploads,        nullptr,       nullptr};
  // Budgets go back once per object: early (its last part sent) or at its report.
  auto release = [&](CopyTask& t) {
    const int n = std::exchange(t.slots, 0), mib = std::exchange(t.memory_mib, 0);
    if (n > 0) slots.Release(n);
    if (mib > 0) memory.Release(mib);
  };
  ctx.release = release;
  ctx.schedule = [&arena](std::function<void()> task) { arena.Enqueue(std::move(task)); };

  bool merged_all = false;
  {
    Ticker ticker([&] {
      if (stop) {
        slots.Cancel();
        memory.Cancel();
        dst_transport.CancelAll();
        if (src_transport_own) src_transport_own->CancelAll();
      }
      if (progress) progress(stats, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    });
    using PlanNode = flow::multifunction_node<Batch, std::tuple<CopyTaskPtr>, flow::rejecting>;
    using TransferNode = flow::async_node<CopyTaskPtr, CopyTaskPtr>;
    arena.Execute([&] {
      flow::graph g;
      flow::input_node<Batch> list(g, [&](oneapi::tbb::flow_control& fc) -> Batch {
        if (stop) {
          fc.stop();
          return Batch();
        }
        auto batch = merger.Next();
        if (!batch.ok()) {
          fail_run(batch.error());
          fc.stop();
          return Batch();
        }
        if (!*batch) {
          merged_all = true;
          fc.stop();
        }
        return *batch;
      });
      PlanNode plan(g, flow::serial, [&](const Batch& batch, PlanNode::output_ports_type& out) {
        // --checksum: a batch's local files are hashed in parallel before anything is decided.
        std::vector<char> same(batch->size(), 0);
        oneapi::tbb::parallel_for(size_t{0}, batch->size(), [&](size_t i) {
          const CopyTask& t = *(*batch)[i];
          if (t.check_against) same[i] = LocalFileMatches(t.source, *t.check_against, options.part_size);
        });
        for (size_t i = 0; i < batch->size(); ++i) {
          if (stop) return;
          const CopyTaskPtr& t = (*batch)[i];
          if (same[i]) {
            stats.skipped++;
            continue;
          }
          if (plan_out) {
            plan_out->Add(t->is_new ? PlanWriter::Kind::kNew : PlanWriter::Kind::kModified, t->dst_key,
                          t->source.info.size);
          }
          const CopyShape shape = ShapeOf(ctx, t->source);
          stats.planned++;
          if (t->is_new) stats.planned_new++;
          stats.bytes_planned += t->source.info.size;
          if (options.dry_run) continue;
          t->slots = static_cast<int>(std::min<uint64_t>(shape.parts, std::min(8, slots.total())));
          if (shape.holds_bodies) {
            const uint64_t part_mib = std::max<uint64_t>(1, (shape.part_bytes + kMiB - 1) / kMiB);
            t->memory_mib = static_cast<int>(std::min<uint64_t>(part_mib * static_cast<uint64_t>(t->slots),
                                                                static_cast<uint64_t>(memory_total)));
          }
          bool acquired;
          {
            ScopedTimer timer(stats.ns_budget_wait);
            acquired = slots.Acquire(t->slots);
            if (acquired && t->memory_mib > 0 && !memory.Acquire(t->memory_mib)) {
              slots.Release(t->slots);
              acquired = false;
            }
          }
          if (!acquired) return;
          std::get<0>(out).try_put(t);
        }
      });
      TransferNode transfer(g, flow::unlimited, [&](const CopyTaskPtr& t, TransferNode::gateway_type& gw) {
        gw.reserve_wait();
        StartCopy(ctx, t, [&gw](CopyTaskPtr done) {
          gw.try_put(std::move(done));
          gw.release_wait();
        });
      });
      flow::function_node<CopyTaskPtr> report(g, flow::serial, [&](const CopyTaskPtr& t) {
        release(*t);
        if (t->error) {
          if (t->error->code != ErrorCode::kCancelled) stats.AddFailure(t->dst_key, t->error->ToString());
          return;
        }
        stats.transferred++;
        spdlog::debug("copied {} → {} (ETag {}, verified by {})", t->source.rel, t->dst_key, t->etag, t->verified_by);
      });
      flow::make_edge(list, plan);
      flow::make_edge(flow::output_port<0>(plan), transfer);
      flow::make_edge(transfer, report);
      list.activate();
      g.wait_for_all();
    });
    arena.WaitForBackground();
  }

  // A stop cancelled the transport under some uploads: abort them on a fresh one.
  if (auto left = uploads.Snapshot(); !left.empty()) {
    http::CurlTransport cleanup(dst_side.transport);
    RetryPolicy quick = options.retry;
    quick.max_attempts = std::min(quick.max_attempts, 3);
    auto failed = AbortUploads(cleanup, dst_requests, dst_side.bucket, left, quick);
    for (const auto& [id, key] : left) {
      if (!failed.count(id)) uploads.Remove(id);
    }
  }

  const bool sorted = source->sorted() && (!dst_stream || dst_stream->sorted());
  if (!sorted) {
    spdlog::warn("a server listed keys out of byte order: objects it listed late may have been copied again, "
                 "and nothing is deleted");
  }
  uint64_t deleted = 0;
  const uint64_t extraneous = deletes.count();
  if (options.delete_extraneous && !options.dry_run && merged_all && !stop && !fatal && extraneous > 0) {
    if (!sorted) {
      fatal = MakeError(ErrorCode::kProtocol,
                        "a server listed keys out of order, so what the source lacks is unknown: nothing deleted");
    } else if (stats.failed > 0) {
      spdlog::warn("{} objects failed: no destination object deleted this run", stats.failed.load());
    } else if (options.max_delete >= 0 && extraneous > static_cast<uint64_t>(options.max_delete)) {
      fatal = MakeError(ErrorCode::kInvalidArgument,
                        std::to_string(extraneous) + " destination objects are not in the source, more than "
                        "--max-delete " + std::to_string(options.max_delete) + ": nothing deleted");
    } else {
      deleted = DeleteBatches(dst_transport, dst_requests, options, deletes, stats, stop, &fatal);
    }
  }

  if (plan_out) {
    Status listed = deletes.ForEach([&](const std::string& key, uint64_t size) {
      plan_out->Add(PlanWriter::Kind::kDelete, key, size);
      return OkStatus();
    });
    if (!listed.ok() && !fatal) fatal = listed.error();
    PlanWriter::Summary summary;
    summary.source = from;
    summary.destination = Describe(dst_side);
    summary.deletes_enabled = options.delete_extraneous;
    summary.complete = merged_all && !stop && !fatal;
    summary.unchanged = stats.skipped;
    summary.excluded = stats.excluded;
    if (Status st = plan_out->Finish(summary); !st.ok() && !fatal) fatal = st.error();
  }

  SyncReport report;
  report.dry_run = options.dry_run;
  report.to_bucket = true;
  FillFromStats(report, stats);
  report.deleted = deleted;
  report.gone = extraneous;
  report.requests = dst_transport.requests_started() + (src_transport_own ? src_transport_own->requests_started() : 0);
  if (options.dry_run) report.would_delete = options.delete_extraneous ? extraneous : 0;
  report.fatal = fatal;
  report.interrupted = stop && !fatal;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace riptide::engine
