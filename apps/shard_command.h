// `riptide shard plan SRC --shards N --out FILE`: the key ranges an array of workers
// (`riptide sync SRC DIR --shard-plan FILE`) divides a listing into.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "apps/client_flags.h"
#include "apps/sync_command.h"

namespace riptide::app {

class ShardCommand {
 public:
  ShardCommand(CLI::App& app, GlobalOptions& global);
  bool chosen() const { return plan_->parsed(); }
  int Run();

 private:
  GlobalOptions& global_;
  CLI::App* plan_ = nullptr;
  ClientFlags client_;
  std::string source_;
  std::string out_;
  int shards_ = 0;
  int page_size_ = 1000;
  int list_concurrency_ = engine::kDefaultListConcurrency;
};

}  // namespace riptide::app
