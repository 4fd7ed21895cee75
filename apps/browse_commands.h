// Commands that read a bucket and change nothing: `ls`, `tree`, `map`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

#include "apps/client_flags.h"
#include "apps/sync_command.h"

namespace riptide::app {

class BrowseCommand {
 public:
  enum class Kind { kLs, kTree, kMap };
  BrowseCommand(CLI::App& app, GlobalOptions& global, Kind kind);
  bool chosen() const { return cmd_->parsed(); }
  int Run();

 private:
  struct Target;
  int Buckets(const s3::ConfigSources& sources);  // `ls` with no SRC
  int Ls(Target& t);
  int Tree(Target& t);
  int Map(Target& t);
  int Refuse(const std::string& message, bool json_started = false);  // exit 2
  GlobalOptions& global_;
  Kind kind_;
  CLI::App* cmd_ = nullptr;
  ClientFlags client_;
  std::string source_;
  std::string destination_;  // map
  bool recursive_ = false;   // ls
  int depth_ = 3;            // tree: a bucket of millions of keys is not printed whole by default
  int page_size_ = 1000;
  int list_concurrency_ = engine::kDefaultListConcurrency;
  Selection selection_;      // map
};

}  // namespace riptide::app
