#include "apps/bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace riptide::app {
namespace {

using engine::bench::CellResult;
using engine::bench::SizeClass;

std::string Mib(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  return std::to_string(bytes >> 10) + "KiB";
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

bool Small(const CellResult& r) { return r.cell.size_class == SizeClass::kSmall; }

// Only a cell that ran its time or its sample is a fair figure.
bool Counts(const CellResult& r) { return r.stopped.empty() && r.seconds > 0; }

}  // namespace

double Figure(const CellResult& r) { return Small(r) ? r.ObjectsPerSecond() : r.MegabytesPerSecond(); }

std::string FigureText(const CellResult& r) {
  return Small(r) ? Fixed(r.ObjectsPerSecond(), 0) + " objects/s" : Fixed(r.MegabytesPerSecond(), 1) + " MB/s";
}

std::vector<Pick> Recommend(const std::vector<CellResult>& results) {
  std::vector<Pick> picks;
  for (const bool upload : {false, true}) {
    for (const SizeClass c : {SizeClass::kSmall, SizeClass::kMedium, SizeClass::kLarge}) {
      std::vector<CellResult> ranked;
      for (const auto& r : results) {
        if (r.cell.upload == upload && r.cell.size_class == c && Counts(r)) ranked.push_back(r);
      }
      if (ranked.empty()) continue;
      // Best figure first; a tie goes to fewer requests in flight (cheaper for the server).
      std::stable_sort(ranked.begin(), ranked.end(), [](const CellResult& a, const CellResult& b) {
        if (Figure(a) != Figure(b)) return Figure(a) > Figure(b);
        return a.cell.concurrency < b.cell.concurrency;
      });
      Pick p{c, upload, ranked[0], std::nullopt};
      if (ranked.size() > 1) p.runner_up = ranked[1];
      picks.push_back(p);
    }
  }
  return picks;
}

std::string SyncFlags(const std::vector<Pick>& picks, const engine::bench::Sample& sample) {
  const Pick* chosen = nullptr;
  uint64_t most = 0;
  for (const auto& p : picks) {
    if (p.upload) continue;
    const uint64_t bytes = sample.listed_bytes[static_cast<size_t>(p.size_class)];
    if (!chosen || bytes > most) {
      chosen = &p;
      most = bytes;
    }
  }
  if (!chosen) return "";
  std::string flags = "--concurrency " + std::to_string(chosen->best.cell.concurrency);
  if (chosen->size_class != SizeClass::kSmall) flags += " --part-size " + Mib(chosen->best.cell.part_size);
  return flags;
}

nlohmann::json ResultsJson(const std::vector<CellResult>& results, const std::vector<Pick>& picks,
                           const engine::bench::Sample& sample, const std::string& source) {
  auto cell_json = [](const CellResult& r) {
    nlohmann::json j = {{"class", engine::bench::ClassName(r.cell.size_class)},
                        {"direction", r.cell.upload ? "upload" : "download"},
                        {"concurrency", r.cell.concurrency},
                        {"seconds", r.seconds},
                        {"bytes", r.bytes},
                        {"objects", r.objects},
                        {"mb_per_s", r.MegabytesPerSecond()},
                        {"objects_per_s", r.ObjectsPerSecond()},
                        {"requests", r.requests},
                        {"retries", r.retries},
                        {"slowdowns", r.slowdowns},
                        {"timeouts", r.timeouts},
                        {"errors", r.errors},
                        {"ttfb_p50_ms", r.ttfb_p50_ms},
                        {"ttfb_p99_ms", r.ttfb_p99_ms},
                        {"cpu_seconds", r.cpu_seconds},
                        {"stopped", r.stopped}};
    if (!Small(r)) j["part_size"] = r.cell.part_size;
    return j;
  };
  nlohmann::json j;
  j["source"] = source;
  j["listed"] = sample.listed;
  for (size_t c = 0; c < 3; ++c) {
    const char* name = engine::bench::ClassName(static_cast<SizeClass>(c));
    j["sample"][name] = {{"objects", sample.objects[c].size()}, {"listed_bytes", sample.listed_bytes[c]}};
  }
  j["cells"] = nlohmann::json::array();
  for (const auto& r : results) j["cells"].push_back(cell_json(r));
  j["recommendation"] = nlohmann::json::array();
  for (const auto& p : picks) {
    nlohmann::json pj = {{"class", engine::bench::ClassName(p.size_class)},
                         {"direction", p.upload ? "upload" : "download"},
                         {"best", cell_json(p.best)}};
    if (p.runner_up) pj["runner_up"] = cell_json(*p.runner_up);
    j["recommendation"].push_back(pj);
  }
  j["sync_flags"] = SyncFlags(picks, sample);
  return j;
}

std::string ResultsCsv(const std::vector<CellResult>& results) {
  std::string out =
      "class,direction,concurrency,part_size,seconds,bytes,objects,mb_per_s,objects_per_s,requests,retries,"
      "slowdowns,timeouts,errors,ttfb_p50_ms,ttfb_p99_ms,cpu_seconds,stopped\n";
  for (const auto& r : results) {
    std::string stopped = r.stopped;
    std::replace(stopped.begin(), stopped.end(), '"', '\'');
    out += std::string(engine::bench::ClassName(r.cell.size_class)) + "," + (r.cell.upload ? "upload" : "download") +
           "," + std::to_string(r.cell.concurrency) + "," + (Small(r) ? "" : std::to_string(r.cell.part_size)) + "," +
           Fixed(r.seconds, 3) + "," + std::to_string(r.bytes) + "," + std::to_string(r.objects) + "," +
           Fixed(r.MegabytesPerSecond(), 2) + "," + Fixed(r.ObjectsPerSecond(), 1) + "," +
           std::to_string(r.requests) + "," + std::to_string(r.retries) + "," + std::to_string(r.slowdowns) + "," +
           std::to_string(r.timeouts) + "," + std::to_string(r.errors) + "," + Fixed(r.ttfb_p50_ms, 2) + "," +
           Fixed(r.ttfb_p99_ms, 2) + "," + Fixed(r.cpu_seconds, 3) + ",\"" + stopped + "\"\n";
  }
  return out;
}

namespace {

constexpr int kPanelW = 560, kPanelH = 300, kLeft = 70, kBottom = 40, kTop = 40;
const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

// One panel: the figure over concurrency (log scale), a line per part size.
std::string Panel(const std::vector<CellResult>& cells, const std::string& title, int y0) {
  std::set<int> xs;
  double top = 0;
  std::map<uint64_t, std::vector<const CellResult*>> lines;
  for (const auto& r : cells) {
    xs.insert(r.cell.concurrency);
    top = std::max(top, Figure(r));
    lines[Small(r) ? 0 : r.cell.part_size].push_back(&r);
  }
  if (top <= 0) top = 1;
  const double lo = std::log2(*xs.begin()), hi = std::log2(*xs.rbegin());
  const int w = kPanelW - kLeft - 30, h = kPanelH - kTop - kBottom;
  auto px = [&](int c) { return kLeft + (hi > lo ? (std::log2(c) - lo) / (hi - lo) * w : w / 2.0); };
  auto py = [&](double v) { return y0 + kTop + h - v / top * h; };
  std::string s = "<text x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(y0 + 22) +
                  "\" font-size=\"15\" font-weight=\"bold\">" + title + "</text>\n";
  s += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + Fixed(py(0), 1) + "\" x2=\"" + std::to_string(kLeft + w) +
       "\" y2=\"" + Fixed(py(0), 1) + "\" stroke=\"#444\"/>\n";
  s += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + Fixed(py(0), 1) + "\" x2=\"" + std::to_string(kLeft) +
       "\" y2=\"" + Fixed(py(top), 1) + "\" stroke=\"#444\"/>\n";
  s += "<text x=\"4\" y=\"" + Fixed(py(top) + 4, 1) + "\" font-size=\"11\">" + Fixed(top, 0) + "</text>\n";
  s += "<text x=\"4\" y=\"" + Fixed(py(0), 1) + "\" font-size=\"11\">0</text>\n";
  for (int c : xs) {
    s += "<text x=\"" + Fixed(px(c) - 8, 1) + "\" y=\"" + Fixed(py(0) + 16, 1) + "\" font-size=\"11\">" +
         std::to_string(c) + "</text>\n";
  }
  s += "<text x=\"" + std::to_string(kLeft + w / 2 - 40) + "\" y=\"" + Fixed(py(0) + 32, 1) +
       "\" font-size=\"11\">requests in flight</text>\n";
  size_t k = 0;
  for (auto& [part, rs] : lines) {
    std::sort(rs.begin(), rs.end(), [](auto* a, auto* b) { return a->cell.concurrency < b->cell.concurrency; });
    const char* colour = kColours[k % std::size(kColours)];
    std::string points;
    for (const auto* r : rs) points += Fixed(px(r->cell.concurrency), 1) + "," + Fixed(py(Figure(*r)), 1) + " ";
    s += "<polyline fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"2\" points=\"" + points +
         "\"/>\n";
    const std::string label = part ? "parts of " + Mib(part) : "whole objects";
    s += "<text x=\"" + std::to_string(kLeft + w - 130) + "\" y=\"" + std::to_string(y0 + kTop + 14 * static_cast<int>(k)) +
         "\" font-size=\"11\" fill=\"" + colour + "\">" + label + "</text>\n";
    ++k;
  }
  return s;
}

}  // namespace

std::string ResultsSvg(const std::vector<CellResult>& results) {
  std::vector<std::pair<std::string, std::vector<CellResult>>> panels;
  for (const bool upload : {false, true}) {
    for (const SizeClass c : {SizeClass::kSmall, SizeClass::kMedium, SizeClass::kLarge}) {
      std::vector<CellResult> cells;
      for (const auto& r : results) {
        if (r.cell.upload == upload && r.cell.size_class == c && r.seconds > 0) cells.push_back(r);
      }
      if (cells.empty()) continue;
      const std::string unit = c == SizeClass::kSmall ? "objects/s" : "MB/s";
      panels.emplace_back(std::string(engine::bench::ClassName(c)) + " objects, " +
                              (upload ? "uploads" : "downloads") + ": " + unit,
                          std::move(cells));
    }
  }
  const int height = std::max(1, static_cast<int>(panels.size())) * kPanelH;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kPanelW) + "\" height=\"" +
                    std::to_string(height) + "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" "
                    "fill=\"white\"/>\n";
  for (size_t i = 0; i < panels.size(); ++i) {
    svg += Panel(panels[i].second, panels[i].first, static_cast<int>(i) * kPanelH);
  }
  return svg + "</svg>\n";
}

}  // namespace riptide::app
