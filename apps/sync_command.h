// `riptide sync SRC DST`: flags, configuration, the run, the summary.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

namespace riptide::app {

struct GlobalOptions {
  int verbosity = 0;
  std::string log_format = "text";
  bool json = false;
};

/// Adds -v, --log-format and --json to a subcommand (they show in its --help).
void AddGlobalFlags(CLI::App* cmd, GlobalOptions& global);

/// Adds the `sync` subcommand to `app`; `Run` is called when it was chosen.
class SyncCommand {
 public:
  SyncCommand(CLI::App& app, GlobalOptions& global);
  int Run();

 private:
  GlobalOptions& global_;
  CLI::App* cmd_ = nullptr;
  std::string source_;
  std::string destination_;
  std::string endpoint_;
  std::string region_;
  std::string profile_;
  std::string state_dir_;
  std::string ca_bundle_;
  bool path_style_ = false;
  bool virtual_host_ = false;
  bool no_sign_request_ = false;
  bool no_verify_ssl_ = false;
  bool no_progress_ = false;
  bool delete_ = false;
  bool dry_run_ = false;
  std::vector<std::pair<bool, std::string>> filters_;  // (include?, pattern) in order
  int64_t max_delete_ = -1;
  int concurrency_ = 64;
  uint64_t part_size_ = 16u << 20;
  uint64_t multipart_threshold_ = 0;  // 0: the part size
  uint64_t memory_limit_ = 256u << 20;
  int page_size_ = 1000;
  int retries_ = 5;
  int connect_timeout_s_ = 10;
  int stall_timeout_s_ = 60;
};

}  // namespace riptide::app
