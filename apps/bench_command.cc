#include "apps/bench_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/bench_report.h"
#include "apps/cleanup_command.h"
#include "apps/format.h"
#include "apps/signals.h"
#include "apps/summary.h"
#include "transport/byte_size.h"
#include "transport/s3/config.h"
#include "transport/s3/uri.h"

namespace riptide::app {
namespace {

using engine::bench::Cell;
using engine::bench::CellResult;
using engine::bench::SizeClass;

// Bucket listings read for the sample stop here: the figures need a sample, not a census.
constexpr uint64_t kMaxListed = 1'000'000;

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) parts.push_back(item);
  return parts;
}

std::string PartText(uint64_t bytes) {
  return bytes % (1ull << 20) == 0 ? std::to_string(bytes >> 20) + "MiB" : std::to_string(bytes >> 10) + "KiB";
}

void PrintRow(const CellResult& r) {
  const bool small = r.cell.size_class == SizeClass::kSmall;
  std::printf("%-7s %-9s %5d %7s %9.1f %9.0f %8.1f/%-8.1f %7llu %9llu %6.2f%s%s\n",
              engine::bench::ClassName(r.cell.size_class), r.cell.upload ? "upload" : "download", r.cell.concurrency,
              small ? "whole" : PartText(r.cell.part_size).c_str(), r.MegabytesPerSecond(), r.ObjectsPerSecond(),
              r.ttfb_p50_ms, r.ttfb_p99_ms, static_cast<unsigned long long>(r.retries),
              static_cast<unsigned long long>(r.slowdowns), r.cpu_seconds, r.stopped.empty() ? "" : "  stopped: ",
              r.stopped.c_str());
  std::fflush(stdout);
}

// What was sampled, and the table's header.
void PrintHeader(const std::string& source, const engine::bench::Sample& sample) {
  const auto& objects = sample.objects;
  std::printf("sample of %s: %zu small, %zu medium, %zu large objects of %llu listed%s\n", source.c_str(),
              objects[0].size(), objects[1].size(), objects[2].size(), static_cast<unsigned long long>(sample.listed),
              sample.listed >= kMaxListed ? " (listing cut there)" : "");
  std::printf("%-7s %-9s %5s %7s %9s %9s %17s %7s %9s %6s\n", "class", "direction", "conc", "part", "MB/s",
              "objects/s", "TTFB p50/p99 ms", "retries", "SlowDowns", "CPU s");
}

void DrawBar(const Cell& cell, double share, const CellResult& so_far) {
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(share * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K  %s %s c=%d %s [%s] %3d%%  %s", engine::bench::ClassName(cell.size_class),
               cell.upload ? "up" : "down", cell.concurrency,
               cell.size_class == SizeClass::kSmall ? "whole" : PartText(cell.part_size).c_str(), bar.c_str(),
               static_cast<int>(share * 100), FigureText(so_far).c_str());
  std::fflush(stderr);
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

}  // namespace

BenchCommand::BenchCommand(CLI::App& app, GlobalOptions& global) : global_(global) {
  cmd_ = app.add_subcommand("bench",
                            "Measure which concurrency and part size a bucket answers best, on a sample of its "
                            "objects: a grid of timed cells, the recommendation, the command line that applies it");
  cmd_->add_option("source", source_, "s3://BUCKET[/PREFIX] or REMOTE:BUCKET[/PREFIX] whose objects are sampled")
      ->required();
  InGroup(cmd_, "Grid", [&] {
    cmd_->add_option("--sample", sample_, "objects kept of each size class (small < 1 MiB ≤ medium < 64 MiB ≤ large)")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cmd_->add_option("--concurrency", concurrency_, "requests in flight to try, comma-separated")
        ->type_name("N,N,…")
        ->capture_default_str();
    cmd_->add_option("--part-size", part_sizes_, "part sizes to try for medium and large objects, comma-separated")
        ->type_name("SIZE,…")
        ->capture_default_str();
    cmd_->add_option("--duration", duration_, "how long each cell runs at most (it ends sooner when its sample is done)")
        ->type_name("DURATION")
        ->capture_default_str();
    ListConcurrencyOption(cmd_, list_concurrency_);
  });
  InGroup(cmd_, "Output", [&] {
    cmd_->add_option("--to", to_,
                     "DIR: write bodies into throw-away files here and sync them, so the disk is part of the figure "
                     "(default, or /dev/null: bodies are counted and dropped)");
    cmd_->add_option("--upload", upload_,
                     "s3://BUCKET/SCRATCH-PREFIX: also sweep uploads (PUT, multipart) of objects the sizes of the "
                     "sample; everything written there is deleted and unfinished uploads aborted, interrupted or not");
    cmd_->add_option("--out", out_, "DIR: write results.json, results.csv and chart.svg there");
  });
  client_.Add(cmd_);
  AddGlobalFlags(cmd_, global);
}

Result<BenchCommand::Grid> BenchCommand::ParseGrid() const {
  auto invalid = [](std::string m) { return MakeError(ErrorCode::kInvalidArgument, std::move(m)); };
  Grid grid;
  for (const auto& item : SplitCommas(concurrency_)) {
    char* end = nullptr;
    const long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end || n < 1 || n > 4096) {
      return invalid("--concurrency: '" + item + "' is not a whole number from 1 to 4096");
    }
    grid.concurrency.push_back(static_cast<int>(n));
  }
  for (const auto& item : SplitCommas(part_sizes_)) {
    auto size = ParseByteSize(item);
    if (!size.ok() || *size < (64u << 10) || *size > (5ull << 30)) {
      return invalid("--part-size: '" + item + "' is not a size from 64KiB to 5GiB");
    }
    grid.part_sizes.push_back(*size);
  }
  if (grid.concurrency.empty() || grid.part_sizes.empty()) return invalid("--concurrency and --part-size need a value");
  const int64_t secs = ParseDurationSeconds(duration_);
  if (secs <= 0) return invalid("--duration '" + duration_ + "' is not a duration such as 15s or 2m");
  grid.duration_s = static_cast<double>(secs);
  return grid;
}

bool BenchCommand::Sweep(const engine::ListTarget& target, const engine::bench::Sample& sample, const Grid& grid,
                         bool upload, const std::string& scratch, std::vector<CellResult>* results) {
  const bool bars = !global_.json && isatty(STDERR_FILENO);
  for (const SizeClass c : {SizeClass::kSmall, SizeClass::kMedium, SizeClass::kLarge}) {
    const auto& objects = sample.objects[static_cast<size_t>(c)];
    if (objects.empty()) continue;
    // Small objects go whole: one part size is enough for them.
    const std::vector<uint64_t> parts =
        c == SizeClass::kSmall ? std::vector<uint64_t>{grid.part_sizes.front()} : grid.part_sizes;
    for (const uint64_t part : parts) {
      for (const int concurrency : grid.concurrency) {
        if (StopFlag()) return false;
        auto transport = transports_(concurrency + 4);  // its own: a cell ends by cancelling it
        engine::ListTarget cell_target{*transport, target.requests, target.bucket, target.retry, &StopFlag()};
        const Cell cell{c, concurrency, part, upload};
        engine::bench::CellOptions options;
        options.duration_s = grid.duration_s;
        options.to_dir = to_;
        options.scratch_prefix = scratch + engine::bench::ClassName(c) + "/c" + std::to_string(concurrency) + "-p" +
                                 std::to_string(part) + "/";
        CellResult r = engine::bench::RunCell(cell_target, objects, cell, options, StopFlag(),
                                              [&](double share, const CellResult& so_far) {
                                                if (bars) DrawBar(cell, share, so_far);
                                              });
        if (bars) std::fprintf(stderr, "\r\033[K");
        if (!global_.json) PrintRow(r);
        results->push_back(r);
        if (upload) {
          if (Status st = engine::bench::CleanScratch(target, options.scratch_prefix, r.open_uploads); !st.ok()) {
            std::fprintf(stderr, "riptide: could not clean %s: %s\n", options.scratch_prefix.c_str(),
                         st.error().ToString().c_str());
          }
        }
      }
    }
  }
  return !StopFlag();
}

int BenchCommand::Run() {
  InstallSignalHandlers();
  auto fail = [&](const std::string& msg) {
    PrintFatal(msg, global_.json, 2);
    return 2;
  };
  auto grid = ParseGrid();
  if (!grid.ok()) return fail(grid.error().message);
  if (to_ == "/dev/null") to_.clear();  // the sink, said as a person says it
  struct stat st{};
  if (!to_.empty() && (stat(to_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || access(to_.c_str(), W_OK) != 0)) {
    return fail("--to " + to_ + " is not a folder riptide can write into");
  }
  s3::ConfigSources sources = s3::LoadConfigSources();
  engine::ClientResolver resolver = client_.Resolver(sources, global_.runtime->Host().transports);
  if (Status used = resolver.UseRemote(&source_); !used.ok()) return fail(used.error().message);
  auto url = s3::ParseS3Url(source_);
  if (!url.ok()) return fail(url.error().message);
  std::optional<s3::S3Url> scratch_url;
  if (!upload_.empty()) {
    if (Status used = resolver.UseRemote(&upload_); !used.ok()) return fail(used.error().message);
    auto parsed = s3::ParseS3Url(upload_);
    if (!parsed.ok()) return fail("--upload: " + parsed.error().message);
    scratch_url = *parsed;
  }
  auto client = resolver.Client();
  if (!client.ok()) return fail(client.error().message);
  transports_ = [&](int connections) { return global_.runtime->Host().transports(resolver.Transport(connections)); };
  auto transport = transports_(list_concurrency_ + 8);
  s3::RequestFactory requests(std::move(*client));
  const engine::ListTarget source{*transport, requests, url->bucket, resolver.Retry(), &StopFlag()};
  auto sample = engine::bench::SampleObjects(source, url->prefix, sample_, list_concurrency_, kMaxListed);
  if (!sample.ok()) return fail(sample.error().ToString());
  const auto& objects = sample->objects;
  if (objects[0].empty() && objects[1].empty() && objects[2].empty()) {
    return fail(source_ + " holds no objects to measure");
  }
  if (!global_.json) PrintHeader(source_, *sample);
  std::vector<CellResult> results;
  bool finished = Sweep(source, *sample, *grid, false, "", &results);
  if (finished && scratch_url) {
    // A prefix of this run's own under the scratch prefix: the cleanup removes exactly it.
    std::string prefix = scratch_url->prefix;
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    prefix += "riptide-bench-" + std::to_string(getpid()) + "-" +
              std::to_string(std::chrono::system_clock::now().time_since_epoch() / std::chrono::seconds(1)) + "/";
    const engine::ListTarget scratch{*transport, requests, scratch_url->bucket, resolver.Retry()};
    finished = Sweep(scratch, *sample, *grid, true, prefix, &results);
    if (Status cleaned = engine::bench::CleanScratch(scratch, prefix); !cleaned.ok()) {
      std::fprintf(stderr, "riptide: could not remove everything under s3://%s/%s: %s\n", scratch_url->bucket.c_str(),
                   prefix.c_str(), cleaned.error().ToString().c_str());
      return 1;
    }
  }
  return Report(results, *sample, !finished);
}

int BenchCommand::Report(const std::vector<CellResult>& results, const engine::bench::Sample& sample,
                         bool interrupted) {
  const std::vector<Pick> picks = Recommend(results);
  const nlohmann::json doc = ResultsJson(results, picks, sample, source_);
  if (!out_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_, ec);
    if (ec || !WriteFile(out_ + "/results.json", doc.dump(2) + "\n") ||
        !WriteFile(out_ + "/results.csv", ResultsCsv(results)) || !WriteFile(out_ + "/chart.svg", ResultsSvg(results))) {
      PrintFatal("cannot write the results into " + out_, global_.json, 2);
      return 2;
    }
  }
  if (global_.json) {
    std::printf("%s\n", DumpJson(doc).c_str());
  } else {
    std::printf("\nrecommended:\n");
    for (const auto& p : picks) {
      auto flags = [](const CellResult& r) {
        return "--concurrency " + std::to_string(r.cell.concurrency) +
               (r.cell.size_class == SizeClass::kSmall ? "" : " --part-size " + PartText(r.cell.part_size));
      };
      std::printf("  %s, %s objects: %s (%s", p.upload ? "uploads" : "downloads",
                  engine::bench::ClassName(p.size_class), flags(p.best).c_str(), FigureText(p.best).c_str());
      if (p.runner_up) std::printf("; runner-up %s: %s", flags(*p.runner_up).c_str(), FigureText(*p.runner_up).c_str());
      std::printf(")\n");
    }
    if (const std::string sync = SyncFlags(picks, sample); !sync.empty()) {
      std::printf("\napply it (the class with most of the listing's bytes):\n  riptide sync %s DIR %s\n",
                  source_.c_str(), sync.c_str());
      std::string yaml = sync;
      yaml.replace(0, std::string("--concurrency ").size(), "concurrency: ");
      if (auto at = yaml.find(" --part-size "); at != std::string::npos) yaml.replace(at, 13, "\n    part_size: ");
      std::printf("  or in a riptide serve job:\n    %s\n", yaml.c_str());
    }
    if (!out_.empty()) std::printf("\nwrote %s/results.json, results.csv and chart.svg\n", out_.c_str());
  }
  std::fflush(stdout);
  if (interrupted) {
    std::fprintf(stderr, "riptide: interrupted; the figures above are the cells that ran\n");
    return SignalNumber() == 15 ? 143 : 130;
  }
  return 0;
}

}  // namespace riptide::app
