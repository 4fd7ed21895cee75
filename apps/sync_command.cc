#include "apps/sync_command.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "apps/copy_command.h"
#include "apps/cos_env.h"
#include "apps/signals.h"
#include "apps/summary.h"
#include "engine/download/sync_job.h"
#include "transport/s3/uri.h"

namespace riptide::app {

void AddGlobalFlags(CLI::App* cmd, GlobalOptions& global) {
  cmd->add_flag("-v,--verbose", global.verbosity, "more log output on stderr (-v info, -vv debug)");
  cmd->add_option("--log-format", global.log_format, "log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--json", global.json, "print the result as one JSON document on stdout");
}

void AddSelectionFlags(CLI::App* cmd, Selection& selection) {
  // Kept in command-line order: the last matching rule decides.
  cmd->add_option_function<std::vector<std::string>>(
         "--include", [&selection](const std::vector<std::string>& v) {
           for (const auto& p : v) selection.filters.emplace_back(true, p);
         },
         "GLOB: consider keys (relative to the prefix) that match; rules apply in order, the last "
         "match wins; '*' stays within a folder, '**' crosses folders")
      ->trigger_on_parse();
  cmd->add_option_function<std::vector<std::string>>(
         "--exclude", [&selection](const std::vector<std::string>& v) {
           for (const auto& p : v) selection.filters.emplace_back(false, p);
         },
         "GLOB: leave out keys that match (never fetched, never deleted)")
      ->trigger_on_parse();
  auto* key = cmd->add_option("--key", selection.keys,
                              "KEY: exactly this object (repeatable), no listing; a whole key, so SRC "
                              "names only the bucket");
  cmd->add_option("--keys-file", selection.keys_file, "FILE: exactly the keys it lists, one per line")
      ->excludes(key);
}

Status Selection::CheckAgainstPrefix(const std::string& prefix) const {
  if (!key_list() || prefix.empty()) return OkStatus();
  return MakeError(ErrorCode::kInvalidArgument,
                   "a prefix in SRC, --key and --keys-file are mutually exclusive: a key list names whole keys, "
                   "so SRC must be s3://BUCKET");
}

Status TakeCosJob(std::map<std::string, std::string>& env, std::string* source, std::string* destination,
                  Selection* selection) {
  auto job = CosJobFromEnvironment(env, destination != nullptr);
  if (!job.ok()) return job.error();
  *source = job->source;
  if (destination) *destination = job->destination;
  if (!selection->key_list()) {
    selection->keys = job->keys;
    selection->keys_file = job->keys_file;
  }
  return OkStatus();
}

SyncCommand::SyncCommand(CLI::App& app, GlobalOptions& global, Kind kind) : global_(global), kind_(kind) {
  if (kind == Kind::kSync) {
    cmd_ = app.add_subcommand("sync",
                              "Mirror s3://BUCKET[/PREFIX] into a local directory, or a bucket or a directory into "
                              "a bucket, verifying every byte");
  } else {
    cmd_ = app.add_subcommand("plan",
                              "Decide what `sync` would transfer and delete, transfer nothing: counts and bytes, "
                              "and with --out the lists");
    cmd_->add_option("--out", plan_out_,
                     "DIR to write new.txt, modified.txt, delete.txt (one key per line) and plan.json");
  }
  cmd_->add_option("source", source_,
                   "s3://BUCKET[/PREFIX] or REMOTE:BUCKET[/PREFIX] (a remote of --config or --rclone-config): what "
                   "to mirror (key PREFIX/a/b → DIR/a/b), or a local directory to upload; with neither SRC nor DST "
                   "the job comes from COS_* and DATASET_DIR");
  cmd_->add_option("destination", destination_,
                   "DIR: the dataset directory (created if missing), or s3://BUCKET[/PREFIX] / REMOTE:BUCKET[/PREFIX] "
                   "to copy into");
  client_.Add(cmd_);
  transfer_.Add(cmd_);
  cmd_->add_option("--state-dir", state_dir_,
                   "where the manifest lives (default DIR/.riptide); for a bucket DST, the journal of open "
                   "multipart uploads (default ~/.local/state/riptide)");
  if (kind == Kind::kSync) {
    cmd_->add_flag("--dry-run", dry_run_, "plan only: count what would be transferred and deleted, touch nothing");
  }
  AddSelectionFlags(cmd_, selection_);
  cmd_->add_flag("--checksum", checksum_,
                 "re-hash local files (XXH3) against the manifest instead of trusting size and mtime");
  cmd_->add_flag("--newer", newer_,
                 "also fetch an object again when its LastModified is newer than recorded (for servers "
                 "whose ETags are not content hashes)");
  cmd_->add_flag("--delete", delete_,
                 kind == Kind::kSync ? "delete local files whose keys left the bucket (after a complete listing); "
                                       "without it they are only counted"
                                     : "plan the deletes `sync --delete` would make");
  cmd_->add_option("--max-delete", max_delete_,
                   "with --delete: if more files would go, delete none and exit 1")
      ->check(CLI::NonNegativeNumber);
  AddGlobalFlags(cmd_, global);
  cmd_->footer(
      "Exit status: 0 all objects in place, 1 some objects failed (each listed), 2 usage,\n"
      "configuration, credential or bucket errors, 130/143 interrupted.\n"
      "Credentials: flags > AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN > profile.\n"
      "Environment job (no SRC, no DST): COS_ENDPOINT, COS_ACCESS_KEY_ID, COS_SECRET_ACCESS_KEY,\n"
      "COS_BUCKET_NAME, and one of COS_PREFIX, COS_OBJECT_KEYS (comma-separated), COS_KEYS_FILE;\n"
      "DATASET_DIR.");
}

int SyncCommand::Run() {
  auto fail = [&](const std::string& msg) {
    PrintFatal(msg, global_.json, 2);
    return 2;
  };
  s3::ConfigSources sources = s3::LoadConfigSources();
  if (source_.empty() && destination_.empty()) {
    if (Status st = TakeCosJob(sources.env, &source_, &destination_, &selection_); !st.ok()) {
      return fail(st.error().message);
    }
  } else if (destination_.empty()) {
    return fail("give both SRC and DST (or neither, to read the job from COS_* and DATASET_DIR)");
  }
  if (NamesBucket(destination_)) return RunCopy();
  if (!NamesBucket(source_)) {
    return fail("one of SRC and DST must be a bucket (s3://BUCKET/PREFIX or REMOTE:BUCKET/PREFIX)");
  }
  if (Status st = client_.UseRemote(&source_, sources); !st.ok()) return fail(st.error().message);
  auto url = s3::ParseS3Url(source_);
  if (!url.ok()) return fail(url.error().message);
  if (Status st = selection_.CheckAgainstPrefix(url->prefix); !st.ok()) return fail(st.error().message);
  if (selection_.key_list() && delete_) {
    return fail("--delete needs a listing of the whole prefix: not with --key or --keys-file");
  }

  auto client = client_.Resolve(sources);
  if (!client.ok()) return fail(client.error().message);

  engine::SyncOptions opt;
  opt.client = std::move(*client);
  opt.bucket = url->bucket;
  opt.prefix = url->prefix;
  opt.dataset_dir = destination_;
  opt.state_dir = state_dir_;
  if (auto tmp = sources.env.find("TMPDIR"); tmp != sources.env.end() && !tmp->second.empty()) {
    opt.scratch_dir = tmp->second;
  }
  // What one request in flight costs riptide at most: a curl handle with its 16 KiB
  // receive buffer, TLS state, the transfer's bookkeeping (measured: ~25 MiB RSS at 64).
  constexpr uint64_t kBytesPerRequest = 256u << 10;
  constexpr uint64_t kBaseBytes = 24u << 20;  // listing pages, manifest cursor, threads
  const uint64_t memory_limit = transfer_.memory_limit;
  const uint64_t affordable = (memory_limit - std::min(memory_limit, kBaseBytes)) / kBytesPerRequest;
  if (affordable < static_cast<uint64_t>(transfer_.concurrency)) {
    spdlog::info("--memory-limit {} MiB allows {} requests in flight, not {}", memory_limit >> 20, affordable,
                 transfer_.concurrency);
  }
  opt.concurrency = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(affordable, transfer_.concurrency)));
  opt.list_page_size = transfer_.page_size;
  opt.delete_extraneous = delete_;
  opt.dry_run = dry_run_ || kind_ == Kind::kPlan;
  opt.plan_dir = plan_out_;
  opt.keys = selection_.keys;
  opt.keys_file = selection_.keys_file;
  opt.checksum = checksum_;
  opt.compare_last_modified = newer_;
  for (const auto& [include, pattern] : selection_.filters) opt.filter.Add(include, pattern);
  opt.max_delete = max_delete_;
  opt.parts.part_size_bytes = transfer_.part_size;
  opt.parts.threshold_bytes = transfer_.multipart_threshold ? transfer_.multipart_threshold : transfer_.part_size;
  opt.retry = client_.Retry();
  opt.transport = client_.Transport(sources, opt.concurrency + 4);

  InstallSignalHandlers();
  const bool show_progress = !transfer_.no_progress && !global_.json && ::isatty(STDERR_FILENO);
  engine::ProgressFn progress;
  if (show_progress) progress = PrintProgress;
  auto report = engine::RunSync(opt, global_.runtime->Host(engine::CancelToken(&StopFlag()), progress));
  if (show_progress) EndProgress();
  if (!report.ok()) return fail(report.error().ToString());
  int code = ExitCodeFor(*report, SignalNumber());
  PrintSummary(*report, global_.json, code);
  return code;
}

// DST is a bucket: a copy from another bucket or an upload of a directory.
int SyncCommand::RunCopy() {
  auto refuse = [&](const char* flag) {
    PrintFatal(std::string(flag) + " applies to downloads into a directory, not to a bucket DST", global_.json, 2);
    return 2;
  };
  if (selection_.key_list()) return refuse("--key/--keys-file");
  if (newer_) return refuse("--newer");
  CopyArgs args;
  args.source = source_;
  args.destination = destination_;
  args.dry_run = dry_run_ || kind_ == Kind::kPlan;
  args.plan_dir = plan_out_;
  args.state_dir = state_dir_;
  args.checksum = checksum_;
  args.delete_extraneous = delete_;
  args.max_delete = max_delete_;
  args.filters = selection_.filters;
  return RunCopyCommand(args, transfer_, client_, global_);
}

}  // namespace riptide::app
