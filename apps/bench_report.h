// What `riptide bench` found, written out: the recommendation per size class, the
// command line and config snippet that apply it, and the results as JSON, CSV and an
// SVG chart a browser shows.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/bench/bench.h"

namespace riptide::app {

/// The best cell of one class and direction, and the runner-up.
struct Pick {
  engine::bench::SizeClass size_class;
  bool upload = false;
  engine::bench::CellResult best;
  std::optional<engine::bench::CellResult> runner_up;
};

/// Small objects are judged by objects per second, the others by MB/s.
double Figure(const engine::bench::CellResult& r);
std::string FigureText(const engine::bench::CellResult& r);

/// Per class and direction, the best cell that ran its course (cells stopped for
/// SlowDowns or errors are not picked).
std::vector<Pick> Recommend(const std::vector<engine::bench::CellResult>& results);

/// The flags to use: those of the class holding most of the listing's bytes (downloads).
std::string SyncFlags(const std::vector<Pick>& picks, const engine::bench::Sample& sample);

nlohmann::json ResultsJson(const std::vector<engine::bench::CellResult>& results, const std::vector<Pick>& picks,
                           const engine::bench::Sample& sample, const std::string& source);
std::string ResultsCsv(const std::vector<engine::bench::CellResult>& results);
/// MB/s over concurrency, a line per part size, a panel per class and direction (objects/s
/// for small objects).
std::string ResultsSvg(const std::vector<engine::bench::CellResult>& results);

}  // namespace riptide::app
