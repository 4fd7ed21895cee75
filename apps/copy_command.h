// Copies into a bucket: `riptide sync|plan SRC s3://…` (from a bucket or a directory,
// with a diff) and `riptide cp SRC DST` (one object, one file, a prefix or a directory,
// no diff).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "apps/client_flags.h"
#include "apps/sync_command.h"

namespace riptide::app {

/// What one copy into a bucket was asked to do.
struct CopyArgs {
  std::string source;
  std::string destination;
  bool compare = true;  // sync/plan: skip what the destination has; cp: copy everything named
  bool dry_run = false;
  bool checksum = false;
  bool delete_extraneous = false;
  int64_t max_delete = -1;
  std::string plan_dir;
  std::string state_dir;  // "" : $XDG_STATE_HOME/riptide or ~/.local/state/riptide
  std::vector<std::pair<bool, std::string>> filters;
};

/// True when `arg` names a bucket (s3://… or a remote's NAME:bucket/…), not a local path.
bool NamesBucket(const std::string& arg);

/// Resolves both sides, runs the copy, prints the summary; the exit code.
int RunCopyCommand(const CopyArgs& args, const TransferFlags& transfer, const ClientFlags& client,
                   const GlobalOptions& global);

/// `riptide cp SRC DST`.
class CpCommand {
 public:
  CpCommand(CLI::App& app, GlobalOptions& global);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  GlobalOptions& global_;
  CLI::App* cmd_ = nullptr;
  ClientFlags client_;
  TransferFlags transfer_;
  CopyArgs args_;
};

}  // namespace riptide::app
