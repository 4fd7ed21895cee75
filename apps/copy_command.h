// `riptide cp SRC DST`: one object, one file, a prefix or a directory into a bucket,
// everything named, no diff.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "apps/client_flags.h"
#include "apps/sync_command.h"
#include "engine/config/job_spec.h"

namespace riptide::app {

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
  engine::JobSpec spec_;
};

}  // namespace riptide::app
