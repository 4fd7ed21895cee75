// `riptide status DIR` and `riptide verify DIR`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "apps/sync_command.h"

namespace riptide::app {

class StatusCommand {
 public:
  StatusCommand(CLI::App& app, GlobalOptions& global);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  GlobalOptions& global_;
  CLI::App* cmd_;
  std::string dataset_;
  std::string state_dir_;
};

class VerifyCommand {
 public:
  VerifyCommand(CLI::App& app, GlobalOptions& global);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  GlobalOptions& global_;
  CLI::App* cmd_;
  std::string dataset_;
  std::string state_dir_;
};

}  // namespace riptide::app
