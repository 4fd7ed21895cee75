// `riptide cleanup s3://BUCKET[/PREFIX]`: lists and aborts multipart uploads that were
// begun and never finished (their parts are stored, and billed, until aborted).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "apps/client_flags.h"
#include "apps/sync_command.h"

namespace riptide::app {

/// "90s", "30m", "24h", "7d" (a bare number is seconds) → seconds; -1 when malformed.
int64_t ParseDurationSeconds(const std::string& text);

class CleanupCommand {
 public:
  CleanupCommand(CLI::App& app, GlobalOptions& global);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  GlobalOptions& global_;
  CLI::App* cmd_ = nullptr;
  ClientFlags client_;
  std::string source_;
  std::string older_than_ = "24h";
  bool dry_run_ = false;
};

}  // namespace riptide::app
