#include "engine/sync_job.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <condition_variable>
#include <thread>

#include "engine/pipeline.h"
#include "engine/ticker.h"
#include "planner/key_mapping.h"

namespace riptide::engine {
namespace {

// Hundreds of transfers each hold a temp file and a folder descriptor.
void RaiseFileLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// A directory under $TMPDIR that goes, with its contents, when this goes.
class ScratchDir {
 public:
  ScratchDir() = default;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  bool Make() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/riptide-plan-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return false;
    path_ = tmpl;
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --delete: local files whose keys left the bucket go, with their manifest rows; only
// after a complete listing in key order, and never more than --max-delete.
Result<uint64_t> DeleteGone(RunContext& ctx, const SyncOptions& options) {
  if (!ctx.listing_sorted) {
    return MakeError(ErrorCode::kProtocol,
                     "the server listed keys out of order, so what left the bucket is unknown: nothing deleted");
  }
  if (options.max_delete >= 0 && ctx.gone.size() > static_cast<uint64_t>(options.max_delete)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::to_string(ctx.gone.size()) + " local files are no longer in the bucket, more than "
                     "--max-delete " + std::to_string(options.max_delete) + ": nothing deleted");
  }
  std::vector<std::string> keys;
  for (const auto& row : ctx.gone) {
    const bool folder = !row.key.empty() && row.key.back() == '/';
    if (!folder && !row.path.empty()) {
      if (Status st = ctx.dataset.RemoveFile(row.path); !st.ok()) return st.error();
      spdlog::info("deleted {} (its key left the bucket)", row.path);
    }
    keys.push_back(row.key);
  }
  if (Status st = ctx.dataset.Sync(); !st.ok()) return st.error();
  if (Status st = ctx.manifest.Delete(keys); !st.ok()) return st.error();
  return static_cast<uint64_t>(keys.size());
}

}  // namespace

void FillFromStats(SyncReport& report, const Stats& stats) {
  report.listed = stats.listed;
  report.transferred = stats.transferred;
  report.skipped = stats.skipped;
  report.failed = stats.failed;
  report.retries = stats.retries;
  report.bytes = stats.bytes_committed;
  report.excluded = stats.excluded;
  if (report.dry_run) {
    report.would_transfer = stats.planned;
    report.would_transfer_new = stats.planned_new;
    report.would_transfer_bytes = stats.bytes_planned;
  }
  report.failures = stats.Failures();
}

Result<SyncReport> RunSync(const SyncOptions& options, std::atomic<bool>& stop,
                           const ProgressFn& progress) {
  const auto started = std::chrono::steady_clock::now();
  RaiseFileLimit();
  const std::string prefix = planner::NormalizePrefix(options.prefix);
  const std::string source = "s3://" + options.bucket + "/" + prefix;
  std::string dataset_dir = options.dataset_dir;
  std::string state_dir =
      options.state_dir.empty() ? dataset_dir + "/" + std::string(planner::kStateDirName) : options.state_dir;
  // A dry run must not create the dataset it plans: it plans against an empty scratch one.
  ScratchDir scratch;
  if (options.dry_run && ::access(dataset_dir.c_str(), F_OK) != 0 && errno == ENOENT) {
    if (!scratch.Make()) return MakeError(ErrorCode::kIo, "cannot create a scratch directory for the plan");
    dataset_dir = scratch.path();
    state_dir = dataset_dir + "/" + std::string(planner::kStateDirName);
  }

  auto dataset = Dataset::Open(dataset_dir, state_dir);
  if (!dataset.ok()) return dataset.error();
  auto manifest = Manifest::Open(state_dir);
  if (!manifest.ok()) return manifest.error();
  auto journal = PartJournal::Open(state_dir);
  if (!journal.ok()) return journal.error();
  if (Status st = (*manifest)->BindSource(source); !st.ok()) return st.error();

  http::CurlTransport transport(options.transport);
  s3::RequestFactory requests(options.client);
  Stats stats;
  Budget budget(std::max(1, options.concurrency));
  RunContext ctx(options, prefix, transport, requests, **dataset, **manifest, **journal, stats, budget, stop);

  // The first page doubles as the check of endpoint, bucket and credentials.
  std::unique_ptr<PageSource> pages;
  if (options.keys.empty() && options.keys_file.empty()) {
    pages = std::make_unique<ListStage>(ctx);
  } else {
    pages = std::make_unique<KeyListStage>(ctx);
  }
  if (Status st = pages->Start(); !st.ok()) return st.error();
  std::unique_ptr<PlanWriter> plan_out;
  if (!options.plan_dir.empty()) {
    auto w = PlanWriter::Open(options.plan_dir);
    if (!w.ok()) return w.error();
    plan_out = std::move(*w);
  }
  ctx.plan_out = plan_out.get();
  // Only a run that did not finish cleanly can have left temp files: skip the walk otherwise.
  auto last = (*manifest)->LastRunStatus();
  if (!last.ok()) return last.error();
  if (*last == "running" || *last == "interrupted" || *last == "failed") {
    if (size_t n = (*dataset)->RemoveStaleTemps((*journal)->TempNames()); n > 0) {
      spdlog::info("removed {} temp files left by an interrupted run", n);
    }
  }
  spdlog::info("mirroring {} from {}://{} into {} ({} requests in flight, {} MiB parts)", source,
               options.client.endpoint.scheme, options.client.endpoint.Authority(), options.dataset_dir,
               options.concurrency, options.parts.part_size_bytes >> 20);
  auto run_id = (*manifest)->BeginRun(source);
  if (!run_id.ok()) return run_id.error();

  Status result = OkStatus();
  {
    // A signal sets `stop`; wake a plan stage waiting on the budget.
    Ticker ticker([&] {
      if (stop) {
        budget.Cancel();
        transport.CancelAll();  // in-flight parts end now; ranged ones stay resumable
      }
      if (progress) {
        progress(stats, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
    });
    result = RunPipeline(ctx, *pages);
    (*journal)->Drain();
  }

  uint64_t deleted = 0;
  if (options.delete_extraneous && !options.dry_run && result.ok() && !stop && !ctx.fatal &&
      ctx.listing_complete) {
    auto outcome = DeleteGone(ctx, options);
    if (outcome.ok()) {
      deleted = *outcome;
    } else {
      ctx.fatal = outcome.error();
    }
  }

  if (plan_out) {
    PlanWriter::Summary summary;
    summary.source = source;
    summary.destination = options.dataset_dir;
    summary.deletes_enabled = options.delete_extraneous;
    summary.complete = ctx.listing_complete && !stop && !ctx.fatal;
    summary.unchanged = stats.skipped;
    summary.excluded = stats.excluded;
    summary.refused = stats.refused;
    summary.failed = stats.failed - stats.refused;
    if (Status st = plan_out->Finish(summary); !st.ok() && !ctx.fatal) ctx.fatal = st.error();
  }

  auto secs = [](const std::atomic<uint64_t>& ns) { return static_cast<double>(ns.load()) / 1e9; };
  spdlog::debug(
      "stage seconds (summed over threads): budget wait {:.2f}, create {:.2f}, network {:.2f}, "
      "verify {:.2f}, commit {:.2f} (of which sync {:.2f})",
      secs(stats.ns_budget_wait), secs(stats.ns_create), secs(stats.ns_network), secs(stats.ns_verify),
      secs(stats.ns_commit), secs(stats.ns_sync));

  SyncReport report;
  report.dry_run = options.dry_run;
  FillFromStats(report, stats);
  report.refused = stats.refused;
  report.gone = stats.gone;
  report.size_verified_only = stats.size_verified_only;
  report.bytes_resumed = stats.bytes_resumed;
  report.drifted = stats.drifted;
  report.deleted = deleted;
  report.requests = transport.requests_started();
  if (options.dry_run) report.would_delete = options.delete_extraneous ? ctx.gone.size() : 0;
  report.fatal = ctx.fatal;
  if (!result.ok() && !report.fatal) report.fatal = result.error();
  report.interrupted = stop && !ctx.fatal;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  RunRecord run;
  run.id = *run_id;
  run.listed = report.listed;
  run.transferred = report.transferred;
  run.skipped = report.skipped;
  run.failed = report.failed;
  run.bytes = report.bytes;
  run.status = report.interrupted ? "interrupted"
               : report.fatal     ? "failed"
               : report.failed    ? "partial"
               : options.dry_run  ? "dry-run"
                                  : "ok";
  std::vector<std::pair<std::string, std::string>> failures;
  for (const auto& f : report.failures) failures.emplace_back(f.key, f.reason);
  if (Status st = (*manifest)->RecordFailures(run.id, failures); !st.ok()) spdlog::warn("{}", st.error().message);
  if (Status st = (*manifest)->EndRun(run); !st.ok()) spdlog::warn("{}", st.error().message);
  return report;
}

}  // namespace riptide::engine
