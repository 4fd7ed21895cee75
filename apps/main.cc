// riptide: mirror S3-compatible buckets into local datasets, verified.
#include <CLI/CLI.hpp>
#include <sys/prctl.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "apps/bench_command.h"
#include "apps/browse_commands.h"
#include "apps/cleanup_command.h"
#include "apps/client_flags.h"
#include "apps/copy_command.h"
#include "apps/inspect_commands.h"
#include "apps/logging.h"
#include "apps/serve/serve_command.h"
#include "apps/shard_command.h"
#include "apps/sync_command.h"
#include "engine/core/md5_lanes.h"
#include "transport/strings.h"

namespace {

// `riptide --mode sync|tree|map [FLAGS]`, the form cron lines of the COS scripts use,
// is `riptide sync|tree|map [FLAGS]`.
std::vector<std::string> Arguments(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--mode" && i + 1 < args.size()) {
      std::string mode = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      args.insert(args.begin(), mode);
      break;
    }
    if (args[i].rfind("--mode=", 0) == 0) {
      std::string mode = args[i].substr(7);
      args.erase(args.begin() + static_cast<long>(i));
      args.insert(args.begin(), mode);
      break;
    }
  }
  return args;
}

// "riptide synk": the command meant, if one is close.
int UnknownCommand(const CLI::App& app, const std::string& word) {
  std::string best;
  size_t best_distance = 3;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (size_t d = riptide::EditDistance(word, sub->get_name()); d < best_distance) {
      best_distance = d;
      best = sub->get_name();
    }
  }
  std::fprintf(stderr, "riptide: unknown command '%s'%s (see riptide --help)\n", word.c_str(),
               best.empty() ? "" : ("; did you mean '" + best + "'?").c_str());
  return 2;
}

}  // namespace

// Parses the arguments; the exit code when that is all there is to do (help, version, an
// error), nullopt when a command is to run.
std::optional<int> Parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
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
  return std::nullopt;
}

// Runs the one command the arguments chose (CLI11 requires exactly one).
template <typename... Commands>
int RunChosen(Commands&... commands) {
  int code = 2;
  ((commands.chosen() && ((code = commands.Run()), true)) || ...);
  return code;
}

int main(int argc, char** argv) {
  // Keys, session tokens and bearer tokens live in this process's memory from here on: no
  // core file, no ptrace by another process of the same user, and /proc/PID/environ and
  // /proc/PID/mem readable by root alone.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const riptide::engine::ProcessRuntime runtime;
  CLI::App app{"riptide: fast, verified mirrors of S3-compatible buckets into local datasets"};
  // The MD5 code this CPU runs: how many objects' proofs are hashed at once depends on it.
  app.set_version_flag("--version", std::string("riptide 0.1.0\nMD5: ") +
                                        riptide::engine::md5::KernelName(riptide::engine::md5::BestKernel()));
  app.require_subcommand(1);
  app.formatter(std::make_shared<riptide::app::HelpFormatter>());  // before the subcommands, which inherit it
  app.footer("--mode sync|tree|map runs that command (for jobs configured by COS_* and DATASET_DIR).");
  riptide::app::GlobalOptions global;
  global.runtime = &runtime;
  using riptide::app::BrowseCommand;
  using riptide::app::InspectCommand;
  using riptide::app::SyncCommand;
  SyncCommand sync(app, global, SyncCommand::Kind::kSync);
  SyncCommand plan(app, global, SyncCommand::Kind::kPlan);
  riptide::app::CpCommand cp(app, global);
  BrowseCommand ls(app, global, BrowseCommand::Kind::kLs);
  BrowseCommand tree(app, global, BrowseCommand::Kind::kTree);
  BrowseCommand map(app, global, BrowseCommand::Kind::kMap);
  riptide::app::CleanupCommand cleanup(app, global);
  InspectCommand status(app, global, InspectCommand::Kind::kStatus);
  InspectCommand verify(app, global, InspectCommand::Kind::kVerify);
  InspectCommand exporter(app, global, InspectCommand::Kind::kExport);
  riptide::serve::ServeCommand serve(app, global);
  riptide::app::ShardCommand shard(app, global);
  riptide::app::BenchCommand bench(app, global);

  std::vector<std::string> args = Arguments(argc, argv);
  const bool mode_given = args.size() != static_cast<size_t>(argc - 1);
  if (mode_given && args[0] != "sync" && args[0] != "tree" && args[0] != "map") {
    std::fprintf(stderr, "riptide: --mode must be sync, tree or map, not '%s'\n", args[0].c_str());
    return 2;
  }
  if (!args.empty() && !args[0].empty() && args[0][0] != '-' &&
      app.get_subcommands([&](const CLI::App* sub) { return sub->get_name() == args[0]; }).empty()) {
    return UnknownCommand(app, args[0]);
  }
  if (auto ended = Parse(app, std::move(args))) return *ended;
  riptide::app::SetUpLogging(global.verbosity, global.log_format);
  try {
    return RunChosen(sync, plan, cp, ls, tree, map, cleanup, status, verify, exporter, serve, shard, bench);
  } catch (const std::exception& e) {  // std::bad_alloc, say: one line, not an abort
    std::fprintf(stderr, "riptide: internal error: %s\n", e.what());
    return 2;
  }
}
