// `riptide status DIR` and `riptide verify DIR`: commands that read a dataset.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "apps/sync_command.h"
#include "transport/result.h"

namespace riptide::app {

class InspectCommand {
 public:
  enum class Kind { kStatus, kVerify, kExport };
  InspectCommand(CLI::App& app, GlobalOptions& global, Kind kind);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  int Status();
  int BucketStatus();
  int Verify();
  int Export();
  int Refuse(const riptide::Error& e);  // one line on stderr, exit 2
  std::string csv_;
  GlobalOptions& global_;
  Kind kind_;
  CLI::App* cmd_;
  std::string dataset_;
  std::string state_dir_;
  bool all_ = false;  // status --all
};

}  // namespace riptide::app
