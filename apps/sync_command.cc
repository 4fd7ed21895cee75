#include "apps/sync_command.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "apps/cos_env.h"
#include "apps/run_job.h"
#include "apps/summary.h"

namespace riptide::app {

constexpr const char* kFooter =
    "Exit status: 0 all objects in place, 1 some objects failed (each listed), 2 usage,\n"
    "configuration, credential or bucket errors, 130/143 interrupted.\n"
    "Credentials: flags > AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN > profile.\n"
    "Environment job (no SRC, no DST): COS_ENDPOINT, COS_ACCESS_KEY_ID, COS_SECRET_ACCESS_KEY,\n"
    "COS_BUCKET_NAME, and one of COS_PREFIX, COS_OBJECT_KEYS (comma-separated), COS_KEYS_FILE;\n"
    "DATASET_DIR.";

void AddGlobalFlags(CLI::App* cmd, GlobalOptions& global) {
  InGroup(cmd, "Output", [&] {
    cmd->add_flag("-v,--verbose", global.verbosity, "more log output on stderr (-v info, -vv debug)");
    cmd->add_option("--log-format", global.log_format, "log lines as text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->add_flag("--json", global.json, "print the result as one JSON document on stdout");
  });
}

void AddSelectionFlags(CLI::App* cmd, Selection& selection) {
  InGroup(cmd, "Selection", [&] {
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
  });
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
  cmd_->add_option("SRC", source_,
                   "s3://BUCKET[/PREFIX] or REMOTE:BUCKET[/PREFIX] (a remote of --config or --rclone-config): what "
                   "to mirror (key PREFIX/a/b → DIR/a/b), or a local directory to upload; with neither SRC nor DST "
                   "the job comes from COS_* and DATASET_DIR");
  cmd_->add_option("DST", destination_,
                   "DIR: the dataset directory (created if missing), or s3://BUCKET[/PREFIX] / REMOTE:BUCKET[/PREFIX] "
                   "to copy into");
  client_.Add(cmd_);
  transfer_.Add(cmd_);
  AddSelectionFlags(cmd_, selection_);
  InGroup(cmd_, "Scale-out", [&] { AddShardFlags(); });
  InGroup(cmd_, "Safety", [&] { AddSafetyFlags(kind); });
  AddGlobalFlags(cmd_, global);
  cmd_->footer(kFooter);
}

void SyncCommand::AddSafetyFlags(Kind kind) {
  cmd_->add_option("--state-dir", state_dir_,
                   "DIR: where the manifest lives (default DIR/.riptide); for a bucket DST, the journal of open "
                   "multipart uploads (default ~/.local/state/riptide)");
  if (kind == Kind::kSync) {
    cmd_->add_flag("--dry-run", dry_run_, "plan only: say what would be transferred and deleted, touch nothing");
  }
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
      ->check(CLI::Validator(
          [](std::string& v) {
            return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 19
                       ? std::string()
                       : "must be a whole number, 0 or more, not '" + v + "'";
          },
          "N"));
}

void SyncCommand::AddShardFlags() {
  cmd_->add_option("--shard-plan", shard_plan_,
                   "FILE: a plan from `riptide shard plan`: list, transfer and delete only one shard's key range, with "
                   "that shard's own manifest (DIR/.riptide/shards/I-of-N)");
  cmd_->add_option("--shard", shard_, "I: which shard of --shard-plan (default SLURM_ARRAY_TASK_ID, then "
                                      "JOB_COMPLETION_INDEX)")
      ->check(CLI::NonNegativeNumber);
}

int SyncCommand::Run() {
  s3::ConfigSources sources = s3::LoadConfigSources();
  if (source_.empty() && destination_.empty()) {
    if (Status st = TakeCosJob(sources.env, &source_, &destination_, &selection_); !st.ok()) {
      PrintFatal(st.error().message, global_.json, 2);
      return 2;
    }
  } else if (destination_.empty()) {
    PrintFatal("give both SRC and DST (or neither, to read the job from COS_* and DATASET_DIR)", global_.json, 2);
    return 2;
  }
  engine::JobSpec spec;
  spec.source = source_;
  spec.destination = destination_;
  spec.client = client_.spec();
  spec.filters = selection_.filters;
  spec.keys = selection_.keys;
  spec.keys_file = selection_.keys_file;
  spec.dry_run = dry_run_ || kind_ == Kind::kPlan;
  spec.checksum = checksum_;
  spec.newer = newer_;
  spec.delete_extraneous = delete_;
  spec.max_delete = max_delete_;
  spec.state_dir = state_dir_;
  spec.plan_dir = plan_out_;
  spec.shard_plan = shard_plan_;
  spec.shard = shard_;
  transfer_.ApplyTo(spec);
  return RunJobCommand(spec, sources, transfer_.no_progress, global_);
}

}  // namespace riptide::app
