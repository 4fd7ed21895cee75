// `riptide cleanup s3://BUCKET[/PREFIX]`: lists and aborts multipart uploads that were
// begun and never finished (their parts are stored, and billed, until aborted).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

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
  // The summary (text or JSON) and the exit code: 1 when some upload could not be aborted.
  int Report(uint64_t seen, uint64_t aborted, uint64_t kept,
             const std::vector<std::pair<std::string, std::string>>& failures, const nlohmann::json& listed) const;
  GlobalOptions& global_;
  CLI::App* cmd_ = nullptr;
  ClientFlags client_;
  std::string source_;
  std::string older_than_ = "24h";
  bool dry_run_ = false;
};

}  // namespace riptide::app
