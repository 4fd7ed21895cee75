// `riptide sync SRC DST`: flags, configuration, the run, the summary.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "apps/client_flags.h"
#include "engine/config/job_spec.h"
#include "engine/core/runtime.h"
#include "transport/result.h"

namespace riptide::app {

struct GlobalOptions {
  const engine::ProcessRuntime* runtime = nullptr;  // set by main before any command runs
  int verbosity = 0;
  std::string log_format = "text";
  bool json = false;
};

/// Adds -v, --log-format and --json to a subcommand (they show in its --help).
void AddGlobalFlags(CLI::App* cmd, GlobalOptions& global);

/// Which objects of SRC a command considers.
struct Selection {
  std::vector<std::pair<bool, std::string>> filters;  // (include?, pattern), command-line order
  std::vector<std::string> keys;                      // --key
  std::string keys_file;                              // --keys-file

  bool key_list() const { return !keys.empty() || !keys_file.empty(); }
};
/// Adds --include, --exclude, --key and --keys-file.
void AddSelectionFlags(CLI::App* cmd, Selection& selection);

/// With no SRC on the command line, the job comes from COS_* and DATASET_DIR: fills
/// `*source`, `*destination` (when not null) and, unless given as flags, the key list.
Status TakeCosJob(std::map<std::string, std::string>& env, std::string* source, std::string* destination,
                  Selection* selection);

/// How much runs at once and in what pieces: shared by sync, plan and cp.
struct TransferFlags {
  int concurrency = engine::kAutoConcurrency;  // --concurrency auto
  uint64_t part_size = 0;            // 0: engine::kDefaultPartSize
  uint64_t multipart_threshold = 0;  // 0: see engine::JobSpec
  uint64_t memory_limit = 256u << 20;
  int page_size = 1000;
  int list_concurrency = engine::kDefaultListConcurrency;
  std::string copy_mode = "auto";
  std::string bwlimit;
  bool no_progress = false;

  void Add(CLI::App* cmd);
  /// Copies these settings into a job spec.
  void ApplyTo(engine::JobSpec& spec) const;
};

/// `riptide sync SRC DST` and `riptide plan SRC DST` (a sync that only decides).
class SyncCommand {
 public:
  enum class Kind { kSync, kPlan };
  SyncCommand(CLI::App& app, GlobalOptions& global, Kind kind);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  void AddShardFlags();            // --shard-plan, --shard
  void AddSafetyFlags(Kind kind);  // --state-dir, --dry-run, --checksum, --newer, --delete, --max-delete
  GlobalOptions& global_;
  Kind kind_;
  CLI::App* cmd_ = nullptr;
  ClientFlags client_;
  std::string source_;
  std::string destination_;
  std::string state_dir_;
  std::string plan_out_;
  std::string shard_plan_;
  int shard_ = -1;
  Selection selection_;
  bool delete_ = false;
  bool dry_run_ = false;
  bool checksum_ = false;
  bool newer_ = false;
  int64_t max_delete_ = -1;
  TransferFlags transfer_;
};

}  // namespace riptide::app
