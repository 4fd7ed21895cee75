// `riptide bench s3://BUCKET/PREFIX`: measures, instead of guessing, which concurrency
// and part size a bucket answers best, on a sample of its own objects; prints the grid,
// the recommendation and the command line that applies it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/client_flags.h"
#include "apps/sync_command.h"
#include "engine/bench/bench.h"

namespace riptide::app {

class BenchCommand {
 public:
  BenchCommand(CLI::App& app, GlobalOptions& global);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  struct Grid {
    std::vector<int> concurrency;
    std::vector<uint64_t> part_sizes;
    double duration_s = 15;
  };
  Result<Grid> ParseGrid() const;
  // One direction's sweep over every class of the sample; false once interrupted.
  bool Sweep(const engine::ListTarget& target, const engine::bench::Sample& sample, const Grid& grid, bool upload,
             const std::string& scratch, std::vector<engine::bench::CellResult>* results);
  int Report(const std::vector<engine::bench::CellResult>& results, const engine::bench::Sample& sample,
             bool interrupted);

  GlobalOptions& global_;
  CLI::App* cmd_ = nullptr;
  ClientFlags client_;
  std::string source_;
  size_t sample_ = 2000;
  std::string concurrency_ = "8,32,64,128,256";
  std::string part_sizes_ = "8M,16M,32M,64M";
  std::string duration_ = "15s";
  std::string to_;
  std::string upload_;
  std::string out_;
  int list_concurrency_ = engine::kDefaultListConcurrency;
  // Set by Run for the sweeps: how a cell gets a transport of its own.
  std::function<std::unique_ptr<http::Transport>(int connections)> transports_;
};

}  // namespace riptide::app
