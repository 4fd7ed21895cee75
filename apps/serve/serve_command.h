// `riptide serve --config FILE`: the long-running service. `--check` validates the
// config and exits.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "apps/serve/event_store.h"
#include "apps/serve/serve_config.h"
#include "apps/serve/service_store.h"
#include "apps/sync_command.h"

namespace riptide::serve {

class ServeCommand {
 public:
  ServeCommand(CLI::App& app, app::GlobalOptions& global);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  // The file, validated, with --listen and --shutdown-timeout over it; errors are the
  // lines to print.
  Result<ServeConfig> LoadConfig(const s3::ConfigSources& sources) const;
  // Runs the service until a signal; the exit code.
  int Serve(const ServeConfig& config, ServiceStore& store, EventStore& events, const s3::ConfigSources& sources);

  app::GlobalOptions& global_;
  CLI::App* cmd_ = nullptr;
  std::string config_path_;
  std::string listen_;
  std::string shutdown_timeout_;
  bool check_ = false;
};

}  // namespace riptide::serve
