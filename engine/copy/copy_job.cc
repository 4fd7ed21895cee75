#include "engine/copy/copy_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "engine/core/concurrency_control.h"
#include "engine/copy/copy_graph.h"
#include "engine/copy/copy_support.h"
#include "engine/state/run_log.h"
#include "engine/state/upload_journal.h"
#include "planner/copy_plan.h"
#include "transport/http/fetch.h"
#include "transport/s3/errors.h"
#include "transport/s3/responses.h"
#include "transport/s3/xml.h"
#include "transport/strings.h"

namespace riptide::engine {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

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
                                                 const s3::RequestFactory* src_requests, const std::atomic<bool>& stop,
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
      e.info = s3::InfoFromHeaders(named.source_key, head->headers);
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
  if (options.source && !options.keys.empty()) {
    return std::unique_ptr<ObjectStream>(std::make_unique<KeyListStream>(
        ListTarget{src_transport, *src_requests, options.source->bucket, options.retry, &stop, &stats},
        options.source->prefix, options.keys, options.list_page_size));
  }
  if (options.source) {
    auto s = std::make_unique<BucketStream>(
        ListTarget{src_transport, *src_requests, options.source->bucket, options.retry, &stop, &stats},
        options.source->prefix, options.list_page_size, options.list_concurrency);
    if (Status st = s->Start(); !st.ok()) return st.error();
    return std::unique_ptr<ObjectStream>(std::move(s));
  }
  auto s = std::make_unique<LocalTreeStream>(options.source_dir);
  if (Status st = s->Start(); !st.ok()) return st.error();
  return std::unique_ptr<ObjectStream>(std::move(s));
}

// DeleteObjects in batches of 1,000 keys; keys the server refuses are failures.
uint64_t DeleteBatches(http::Transport& transport, const s3::RequestFactory& requests, const CopyOptions& options,
                       DeleteSpool& spool, Stats& stats, RunShell& shell) {
  std::atomic<bool>& stop = shell.stop();
  ListTarget target{transport, requests, options.destination.bucket, options.retry, &stop, &stats};
  uint64_t deleted = 0;
  std::vector<std::string> keys;
  auto send = [&]() -> Status {
    if (stop) return MakeError(ErrorCode::kCancelled, "stopped before every delete was made");
    auto failures = std::make_shared<std::vector<s3::DeleteFailure>>();
    auto r = target.Call([&] { return requests.DeleteObjects(options.destination.bucket, keys); },
                         [failures](const http::Response& r) -> Status {
                           auto parsed = s3::ParseDeleteResult(r.body);
                           if (!parsed.ok()) return parsed.error();
                           *failures = std::move(*parsed);
                           return OkStatus();
                         });
    if (!r.ok()) return r.error();
    for (const auto& f : *failures) stats.AddFailure(f.key, "not deleted: " + f.code + " " + f.message);
    deleted += keys.size() - failures->size();
    keys.clear();
    return OkStatus();
  };
  Status st = spool.ForEach([&](StreamEntry& e) -> Status {
    keys.push_back(e.info.key);
    return keys.size() == kCopyBatch ? send() : OkStatus();
  });
  if (st.ok() && !keys.empty()) st = send();
  if (!st.ok()) shell.Fail(st.error());
  return deleted;
}

// The destination's listing (what is there already), or, for cp, one key of it: a
// missing bucket or bad credentials show before anything is copied.
Result<std::unique_ptr<BucketStream>> OpenDestination(const CopyOptions& options, const ListTarget& target) {
  const BucketSide& dst = options.destination;
  if (options.compare) {
    auto stream = std::make_unique<BucketStream>(target, dst.prefix, options.list_page_size, options.list_concurrency);
    if (Status st = stream->Start(); !st.ok()) return st.error();
    return stream;
  }
  s3::ListParams probe;
  probe.prefix = dst.prefix;
  probe.max_keys = 1;
  if (auto page = ListOnePage(target, probe); !page.ok()) {
    Error e = page.error();
    e.message = "cannot list " + Describe(dst) + ": " + e.message;
    return e;
  }
  return std::unique_ptr<BucketStream>();
}

// "endpoint/bucket/prefix": what the destination's state files are keyed by.
std::string DestinationKey(const BucketSide& dst) {
  const auto& ep = dst.client.endpoint;
  return ep.scheme + "://" + ep.Authority() + ep.base_path + "/" + dst.bucket + "/" + dst.prefix;
}

// The journal of open uploads; those a killed run left open here are aborted before
// anything new starts.
Result<std::unique_ptr<UploadJournal>> OpenJournal(const CopyOptions& options, http::Transport& transport,
                                                   const s3::RequestFactory& requests) {
  if (options.state_dir.empty() || options.dry_run) return std::unique_ptr<UploadJournal>();
  const BucketSide& dst = options.destination;
  auto journal = UploadJournal::Open(options.state_dir, DestinationKey(dst));
  if (!journal.ok()) return journal.error();
  std::map<std::string, std::string> still_open;
  if (const auto& left = (*journal)->leftovers(); !left.empty()) {
    spdlog::info("aborting {} multipart uploads left open by an interrupted run", left.size());
    still_open = AbortUploads(transport, requests, dst.bucket, left, options.retry);
  }
  (*journal)->Reset();
  for (const auto& [id, key] : still_open) (*journal)->Opened(id, key);  // tried again next run
  return std::move(*journal);
}

// A stop cancelled the transport under some uploads: abort them on a fresh one.
void AbortLeftovers(const CopyOptions& options, const JobHost& host, const s3::RequestFactory& requests,
                    OpenUploads& uploads) {
  auto left = uploads.Snapshot();
  if (left.empty()) return;
  std::unique_ptr<http::Transport> cleanup = host.transports(options.destination.transport);
  RetryPolicy quick = options.retry;
  quick.max_attempts = std::min(quick.max_attempts, 3);
  auto failed = AbortUploads(*cleanup, requests, options.destination.bucket, left, quick);
  for (const auto& [id, key] : left) {
    if (!failed.count(id)) uploads.Remove(id);
  }
}

// --delete, after a complete merge with no failure: DeleteObjects.
uint64_t DeleteExtraneous(const CopyOptions& options, CopyRun& run, DeleteSpool& deletes) {
  const uint64_t extraneous = deletes.count();
  RunShell& shell = run.shell;
  if (!options.delete_extraneous || options.dry_run || !run.merged_all || shell.stopping() || extraneous == 0) {
    return 0;
  }
  if (run.ctx.stats.failed > 0) {
    spdlog::warn("{} objects failed: no destination object deleted this run", run.ctx.stats.failed.load());
  } else if (options.max_delete >= 0 && extraneous > static_cast<uint64_t>(options.max_delete)) {
    shell.Fail(MakeError(ErrorCode::kInvalidArgument,
                         std::to_string(extraneous) + " destination objects are not in the source, more than "
                         "--max-delete " + std::to_string(options.max_delete) + ": nothing deleted"));
  } else {
    return DeleteBatches(run.ctx.destination_transport, run.ctx.destination_requests, options, deletes,
                         run.ctx.stats, shell);
  }
  return 0;
}

// `riptide plan --out`: the deletes, then the summary.
void FinishPlan(const CopyOptions& options, CopyRun& run, DeleteSpool& deletes, const std::string& from) {
  Status listed = deletes.ForEach([&](StreamEntry& e) {
    run.plan_out->Add(PlanWriter::Kind::kDelete, e.info.key, e.info.size);
    return OkStatus();
  });
  if (!listed.ok()) run.shell.Fail(listed.error());
  PlanWriter::Summary summary;
  summary.source = from;
  summary.destination = Describe(options.destination);
  summary.deletes_enabled = options.delete_extraneous;
  summary.complete = run.merged_all && !run.shell.stopping();
  summary.unchanged = run.ctx.stats.skipped;
  summary.excluded = run.ctx.stats.excluded;
  if (Status st = run.plan_out->Finish(summary); !st.ok()) run.shell.Fail(st.error());
}

// What a copy keeps under --state-dir for its destination: the journal of open uploads
// (its lock keeps a second riptide out) and the run log `riptide status s3://…` reads.
struct DestinationState {
  std::unique_ptr<UploadJournal> journal;  // none for dry runs
  std::unique_ptr<CopyRunLog> log;         // none without a state directory
  int64_t run_id = 0;
};

Result<DestinationState> OpenDestinationState(const CopyOptions& options, http::Transport& transport,
                                              const s3::RequestFactory& requests, const std::string& from) {
  DestinationState state;
  auto journal = OpenJournal(options, transport, requests);
  if (!journal.ok()) return journal.error();
  state.journal = std::move(*journal);
  if (options.state_dir.empty()) return state;
  const BucketSide& dst = options.destination;
  auto log = CopyRunLog::Open(options.state_dir, DestinationKey(dst), Describe(dst));
  if (!log.ok()) return log.error();
  auto id = (*log)->runs().Begin(from);
  if (!id.ok()) return id.error();
  state.log = std::move(*log);
  state.run_id = *id;
  return state;
}

// After the graph: leftovers aborted, deletes, the plan's summary, the report.
SyncReport Conclude(const CopyOptions& options, const JobHost& host, CopyRun& run, DeleteSpool& deletes,
                    const std::string& from) {
  AbortLeftovers(options, host, run.ctx.destination_requests, run.ctx.uploads);
  const uint64_t deleted = DeleteExtraneous(options, run, deletes);
  if (run.plan_out) FinishPlan(options, run, deletes, from);
  SyncReport report;
  report.dry_run = options.dry_run;
  report.to_bucket = true;
  run.shell.Fill(report);
  report.deleted = deleted;
  report.gone = deletes.count();
  if (options.dry_run) report.would_delete = options.delete_extraneous ? deletes.count() : 0;
  return report;
}

// One endpoint and one set of credentials: the server copies; otherwise bytes stream
// through riptide (or come from local files).
Result<bool> ServerSide(const CopyOptions& options) {
  if (!options.source) return false;
  const bool same = SameService(options.source->client, options.destination.client);
  if (options.method == CopyOptions::Method::kServerSide && !same) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a server-side copy needs SRC and DST on one endpoint with one set of credentials");
  }
  return same && options.method != CopyOptions::Method::kStreamed;
}

}  // namespace

Result<SyncReport> RunCopy(const CopyOptions& options, const JobHost& host) {
  const BucketSide& dst_side = options.destination;
  auto server_side = ServerSide(options);
  if (!server_side.ok()) return server_side.error();
  // The request factories outlive the transports: a retry builds its request anew.
  s3::RequestFactory dst_requests(dst_side.client);
  std::optional<s3::RequestFactory> src_requests;
  if (options.source) src_requests.emplace(options.source->client);
  std::unique_ptr<http::Transport> dst_transport = host.transports(dst_side.transport);
  std::unique_ptr<http::Transport> src_transport_own;
  if (options.source && !*server_side) src_transport_own = host.transports(options.source->transport);
  http::Transport& src_transport = src_transport_own ? *src_transport_own : *dst_transport;
  Stats stats;
  stats.WatchObjects(host.on_object, host.report_unchanged);
  stats.WatchPlanned(host.on_planned);
  RunShell shell(host, stats);

  // The source stream; its first page doubles as the check of bucket and credentials.
  auto source = OpenSource(options, src_transport, src_requests ? &*src_requests : nullptr, shell.stop(), stats);
  if (!source.ok()) return source.error();
  ListTarget dst_target{*dst_transport, dst_requests, dst_side.bucket, options.retry, &shell.stop(), &stats};
  auto dst_stream = OpenDestination(options, dst_target);
  if (!dst_stream.ok()) return dst_stream.error();
  std::unique_ptr<PlanWriter> plan_out;
  if (!options.plan_dir.empty()) {
    auto w = PlanWriter::Open(options.plan_dir);
    if (!w.ok()) return w.error();
    plan_out = std::move(*w);
  }
  const std::string from = options.source ? Describe(*options.source) : options.source_dir;
  spdlog::info("copying {} to {} ({}, {})", from, Describe(dst_side),
               !options.source ? "upload" : *server_side ? "server-side" : "streamed",
               DescribeConcurrency(options.adaptive_concurrency, options.concurrency));
  auto state = OpenDestinationState(options, *dst_transport, dst_requests, from);
  if (!state.ok()) return state.error();

  DeleteSpool deletes;
  Merger merger(options, **source, dst_stream->get(), stats, deletes);
  OpenUploads uploads(state->journal.get());
  CopyContext ctx{options, src_transport, *dst_transport, src_requests ? &*src_requests : nullptr,
                  dst_requests, *server_side, stats, shell.stop(), uploads, nullptr, nullptr};
  CopyRun run(ctx, merger, shell, plan_out.get(), std::max(1, options.concurrency),
              static_cast<int>(std::max<uint64_t>(1, options.memory_limit / kMiB)), host);
  // Bytes landed (part by part) is the work for every kind of copy, server-side included.
  auto tuner = TuneConcurrency(
      options.adaptive_concurrency, run.slots, stats, shell,
      [&] { return dst_transport->requests_started() + (src_transport_own ? src_transport_own->requests_started() : 0); },
      [&] { return stats.bytes_committed.load(); });
  shell.OnStop([&] {
    run.slots.Cancel();
    run.memory.Cancel();
    dst_transport->CancelAll();
    if (src_transport_own) src_transport_own->CancelAll();
  });
  shell.Run([&] { RunCopyGraph(run); });
  SyncReport report = Conclude(options, host, run, deletes, from);
  report.requests = dst_transport->requests_started() + (src_transport_own ? src_transport_own->requests_started() : 0);
  if (state->log) state->log->runs().Record(state->run_id, report);
  return report;
}

}  // namespace riptide::engine
