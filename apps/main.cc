// riptide: mirror S3-compatible buckets into local datasets, verified.
#include <CLI/CLI.hpp>

#include "apps/inspect_commands.h"
#include "apps/logging.h"
#include "apps/sync_command.h"

int main(int argc, char** argv) {
  CLI::App app{"riptide: fast, verified mirrors of S3-compatible buckets into local datasets"};
  app.set_version_flag("--version", "riptide 0.1.0");
  app.require_subcommand(1);
  riptide::app::GlobalOptions global;
  riptide::app::SyncCommand sync(app, global);
  using riptide::app::InspectCommand;
  InspectCommand status(app, global, InspectCommand::Kind::kStatus);
  InspectCommand verify(app, global, InspectCommand::Kind::kVerify);
  InspectCommand exporter(app, global, InspectCommand::Kind::kExport);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "riptide: %s (see riptide --help)\n", e.what());
    return 2;
  }
  riptide::app::SetUpLogging(global.verbosity, global.log_format);
  if (app.got_subcommand("sync")) return sync.Run();
  if (status.chosen()) return status.Run();
  if (verify.chosen()) return verify.Run();
  if (exporter.chosen()) return exporter.Run();
  return 2;
}
