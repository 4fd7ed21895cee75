#include "engine/download/sync_job.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "engine/core/concurrency_control.h"
#include "engine/core/run_shell.h"
#include "engine/download/pipeline.h"
#include "planner/key_mapping.h"

namespace riptide::engine {
namespace {

// A directory under the scratch directory that goes, with its contents, when this goes.
class ScratchDir {
 public:
  ScratchDir() = default;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  bool Make(const std::string& parent) {
    std::string tmpl = (parent.empty() ? std::string("/tmp") : parent) + "/riptide-plan-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return false;
    path_ = tmpl;
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The rows whose keys left the bucket, without those a listing out of order named later.
std::vector<planner::ManifestEntry>& GoneRows(RunContext& ctx) {
  if (!ctx.gone_retracted.empty()) {
    std::erase_if(ctx.gone, [&](const planner::ManifestEntry& row) { return ctx.gone_retracted.count(row.key) > 0; });
    ctx.gone_retracted.clear();
  }
  return ctx.gone;
}

// --delete: local files whose keys left the bucket go, with their manifest rows; only
// after a complete listing, and never more than --max-delete.
Result<uint64_t> DeleteGone(RunContext& ctx, const SyncOptions& options) {
  GoneRows(ctx);
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

// The dataset's state, opened and locked: an error means nothing can be attempted.
struct DatasetState {
  std::unique_ptr<Dataset> dataset;
  std::unique_ptr<Manifest> manifest;
  std::unique_ptr<PartJournal> journal;
  ScratchDir scratch;  // a dry run of a dataset that does not exist plans against this
};

Status OpenState(const SyncOptions& options, const std::string& source, DatasetState& state) {
  std::string dataset_dir = options.dataset_dir;
  std::string state_dir =
      options.state_dir.empty() ? dataset_dir + "/" + std::string(planner::kStateDirName) : options.state_dir;
  // A dry run must not create the dataset it plans: it plans against an empty scratch one.
  if (options.dry_run && ::access(dataset_dir.c_str(), F_OK) != 0 && errno == ENOENT) {
    if (!state.scratch.Make(options.scratch_dir)) {
      return MakeError(ErrorCode::kIo, "cannot create a scratch directory for the plan");
    }
    dataset_dir = state.scratch.path();
    state_dir = dataset_dir + "/" + std::string(planner::kStateDirName);
  }
  auto dataset = Dataset::Open(dataset_dir, state_dir, !options.shard.empty());
  if (!dataset.ok()) return dataset.error();
  state.dataset = std::move(*dataset);
  auto manifest = Manifest::Open(state_dir);
  if (!manifest.ok()) return manifest.error();
  state.manifest = std::move(*manifest);
  auto journal = PartJournal::Open(state_dir);
  if (!journal.ok()) return journal.error();
  state.journal = std::move(*journal);
  return state.manifest->BindSource(source);
}

// Everything between a successful first page and the graph's start: the plan writer,
// and the temp files a run that did not finish cleanly can have left.
Result<std::unique_ptr<PlanWriter>> Prepare(const SyncOptions& options, DatasetState& state) {
  std::unique_ptr<PlanWriter> plan_out;
  if (!options.plan_dir.empty()) {
    auto w = PlanWriter::Open(options.plan_dir);
    if (!w.ok()) return w.error();
    plan_out = std::move(*w);
  }
  auto last = state.manifest->LastRunStatus();
  if (!last.ok()) return last.error();
  if (*last == "running" || *last == "interrupted" || *last == "failed") {
    if (size_t n = state.dataset->RemoveStaleTemps(state.journal->TempNames()); n > 0) {
      spdlog::info("removed {} temp files left by an interrupted run", n);
    }
  }
  return plan_out;
}

// After the graph: deletes, the plan's summary, and the report.
SyncReport Finish(RunContext& ctx, const std::string& source, Status result, PlanWriter* plan_out,
                  uint64_t requests) {
  const SyncOptions& options = ctx.options;
  RunShell& shell = ctx.shell;
  if (!result.ok()) shell.Fail(result.error());
  uint64_t deleted = 0;
  if (options.delete_extraneous && !options.dry_run && !shell.stopping() && ctx.listing_complete) {
    auto outcome = DeleteGone(ctx, options);
    if (outcome.ok()) {
      deleted = *outcome;
    } else {
      shell.Fail(outcome.error());
    }
  }
  if (plan_out) {
    PlanWriter::Summary summary;
    summary.source = source;
    summary.destination = options.dataset_dir;
    summary.deletes_enabled = options.delete_extraneous;
    summary.complete = ctx.listing_complete && !shell.stopping();
    summary.unchanged = ctx.stats.skipped;
    summary.excluded = ctx.stats.excluded;
    summary.refused = ctx.stats.refused;
    summary.failed = ctx.stats.failed - ctx.stats.refused;
    if (Status st = plan_out->Finish(summary); !st.ok()) shell.Fail(st.error());
  }
  SyncReport report;
  report.dry_run = options.dry_run;
  shell.Fill(report);
  const Stats& stats = ctx.stats;
  report.refused = stats.refused;
  report.gone = stats.gone;
  report.size_verified_only = stats.size_verified_only;
  report.checksum_verified = stats.checksum_verified;
  report.bytes_resumed = stats.bytes_resumed;
  report.bytes_hashed_landing = stats.bytes_hashed_landing;
  report.drifted = stats.drifted;
  report.deleted = deleted;
  report.requests = requests;
  if (options.dry_run && options.delete_extraneous) {
    for (const auto& row : GoneRows(ctx)) ctx.stats.Planned("delete", "", options.dataset_dir + "/" + row.path);
  }
  if (options.dry_run) report.would_delete = options.delete_extraneous ? ctx.gone.size() : 0;
  return report;
}

// A typo'd prefix lists nothing and exits 0: say so, and what was probably meant.
void WarnListsNothing(const ListTarget& target, const std::string& source, const std::string& prefix) {
  std::string names;
  for (const auto& n : NearestNames(target, prefix)) {
    names += (names.empty() ? "" : ", ") + std::string("s3://") + target.bucket + "/" + n;
  }
  spdlog::warn("{} lists nothing{}", source, names.empty() ? std::string() : "; did you mean " + names + "?");
}

void LogStageTimes(const Stats& stats) {
  auto secs = [](const std::atomic<uint64_t>& ns) { return static_cast<double>(ns.load()) / 1e9; };
  spdlog::debug(
      "stage seconds (summed over threads): budget wait {:.2f}, create {:.2f}, network {:.2f}, "
      "verify {:.2f}, commit {:.2f} (of which sync {:.2f})",
      secs(stats.ns_budget_wait), secs(stats.ns_create), secs(stats.ns_network), secs(stats.ns_verify),
      secs(stats.ns_commit), secs(stats.ns_sync));
}

}  // namespace

Result<SyncReport> RunSync(const SyncOptions& options, const JobHost& host) {
  const std::string prefix = planner::NormalizePrefix(options.prefix);
  const std::string source = "s3://" + options.bucket + "/" + prefix;
  DatasetState state;
  if (Status st = OpenState(options, source, state); !st.ok()) return st.error();

  // The request factory outlives the transport: a retry builds its request anew.
  s3::RequestFactory requests(options.client);
  std::unique_ptr<http::Transport> transport = host.transports(options.transport);
  Stats stats;
  stats.WatchObjects(host.on_object, host.report_unchanged);
  stats.WatchPlanned(host.on_planned);
  Budget budget(std::max(1, options.concurrency), host.shared_requests);
  RunShell shell(host, stats);
  RunContext ctx(options, prefix, *transport, requests, *state.dataset, *state.manifest, *state.journal, stats,
                 budget, shell);

  // The first page doubles as the check of endpoint, bucket and credentials.
  std::unique_ptr<PageSource> pages;
  if (options.keys.empty() && options.keys_file.empty()) {
    pages = std::make_unique<ListStage>(ctx);
  } else {
    pages = std::make_unique<KeyListStage>(ctx);
  }
  if (Status st = pages->Start(); !st.ok()) return st.error();
  auto plan_out = Prepare(options, state);
  if (!plan_out.ok()) return plan_out.error();
  ctx.plan_out = plan_out->get();
  spdlog::info("mirroring {} from {}://{} into {} ({}, {} MiB parts)", source, options.client.endpoint.scheme,
               options.client.endpoint.Authority(), options.dataset_dir,
               DescribeConcurrency(options.adaptive_concurrency, options.concurrency),
               options.parts.part_size_bytes >> 20);
  auto tuner = TuneConcurrency(
      options.adaptive_concurrency, budget, stats, shell, [&] { return transport->requests_started(); },
      [&] { return stats.bytes_received.load(); });
  auto run_id = state.manifest->BeginRun(source);
  if (!run_id.ok()) return run_id.error();

  // A stop wakes a plan stage waiting on the budget and ends in-flight parts now
  // (ranged ones stay resumable).
  shell.OnStop([&] {
    budget.Cancel();
    transport->CancelAll();
  });
  Status result = shell.Run([&] {
    Status st = RunPipeline(ctx, *pages);
    state.journal->Drain();
    return st;
  });
  LogStageTimes(stats);
  SyncReport report = Finish(ctx, source, result, ctx.plan_out, transport->requests_started());
  if (report.listed == 0 && ctx.listing_complete && !prefix.empty() && options.keys.empty() &&
      options.keys_file.empty()) {
    WarnListsNothing(ListTarget{*transport, requests, options.bucket, options.retry, &ctx.stop}, source, prefix);
  }
  state.manifest->runs().Record(*run_id, report);
  return report;
}

}  // namespace riptide::engine
