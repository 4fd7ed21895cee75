#include "engine/state/inspect.h"

#include <oneapi/tbb/parallel_for.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <mutex>

#include "engine/state/dataset.h"
#include "engine/core/hashing.h"
#include "planner/key_mapping.h"

namespace riptide::engine {

Result<std::string> ExistingStateDir(const std::string& dataset_dir, const std::string& state_dir) {
  std::string dir = state_dir.empty() ? dataset_dir + "/" + std::string(planner::kStateDirName) : state_dir;
  struct stat st;
  if (::stat((dir + "/manifest.db").c_str(), &st) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "no riptide manifest in " + dir + ": is " + dataset_dir + " a dataset riptide filled?");
  }
  return dir;
}

Result<std::vector<std::string>> ManifestDirs(const std::string& dataset_dir, const std::string& state_dir) {
  const std::string base = state_dir.empty() ? dataset_dir + "/" + std::string(planner::kStateDirName) : state_dir;
  std::vector<std::string> dirs;
  struct stat st {};
  if (::stat((base + "/manifest.db").c_str(), &st) == 0) dirs.push_back(base);
  // Shards (DIR/.riptide/shards/I-of-N), in the order of their ranges.
  std::vector<std::pair<long, std::string>> shards;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base + "/shards", ec)) {
    const std::string name = entry.path().filename().string();
    if (::stat((entry.path().string() + "/manifest.db").c_str(), &st) != 0) continue;
    shards.emplace_back(std::strtol(name.c_str(), nullptr, 10), entry.path().string());
  }
  std::sort(shards.begin(), shards.end());
  for (auto& [index, dir] : shards) dirs.push_back(std::move(dir));
  if (dirs.empty()) {
    auto missing = ExistingStateDir(dataset_dir, state_dir);
    return missing.error();
  }
  return dirs;
}

Result<StatusReport> ReadStatus(const std::string& dataset_dir, const std::string& state_dir) {
  auto dirs = ManifestDirs(dataset_dir, state_dir);
  if (!dirs.ok()) return dirs.error();
  StatusReport r;
  for (const auto& dir : *dirs) {  // shards add up
    auto manifest = Manifest::Open(dir);
    if (!manifest.ok()) return manifest.error();
    auto totals = (*manifest)->GetTotals();
    if (!totals.ok()) return totals.error();
    r.totals.source = totals->source;
    r.totals.objects += totals->objects;
    r.totals.bytes += totals->bytes;
    auto runs = (*manifest)->RecentRuns(5);
    if (!runs.ok()) return runs.error();
    r.runs.insert(r.runs.end(), runs->begin(), runs->end());
    auto failures = (*manifest)->LastFailures();
    if (!failures.ok()) return failures.error();
    r.last_failures.insert(r.last_failures.end(), failures->begin(), failures->end());
  }
  std::stable_sort(r.runs.begin(), r.runs.end(),
                   [](const RunRecord& a, const RunRecord& b) { return a.started_ms > b.started_ms; });
  if (r.runs.size() > 5) r.runs.resize(5);
  return r;
}

Result<std::vector<CopyStatusReport>> ReadCopyStatus(const std::string& state_dir, const std::string& bucket_url) {
  auto logs = CopyRunLog::Find(state_dir, bucket_url);
  if (!logs.ok()) return logs.error();
  std::vector<CopyStatusReport> out;
  for (auto& [destination, log] : *logs) {
    CopyStatusReport r;
    r.destination = destination;
    auto runs = log->runs().Recent(5);
    if (!runs.ok()) return runs.error();
    r.runs = std::move(*runs);
    auto failures = log->runs().LastFailures();
    if (!failures.ok()) return failures.error();
    r.last_failures = std::move(*failures);
    out.push_back(std::move(r));
  }
  if (out.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "no copy into " + bucket_url + " is recorded in " + state_dir + " (see --state-dir)");
  }
  return out;
}

namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string IsoTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int the compiler can imagine
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

Status ExportCsv(const std::string& dataset_dir, const std::string& state_dir, std::FILE* out) {
  auto dirs = ManifestDirs(dataset_dir, state_dir);
  if (!dirs.ok()) return dirs.error();
  std::fputs("key,size,etag,last_modified,xxh3,synced_at\n", out);
  for (const auto& dir : *dirs) {  // shards in range order: the keys stay in order
    auto manifest = Manifest::Open(dir);
    if (!manifest.ok()) return manifest.error();
    Status st = (*manifest)->ForEachChunk(2000, [&](std::vector<ObjectRow>& rows) {
      for (const auto& r : rows) {
        std::string line = CsvField(r.key) + "," + std::to_string(r.size) + "," + CsvField(r.etag) + "," +
                           IsoTime(r.last_modified_ms) + "," + r.xxh3 + "," + IsoTime(r.synced_at_ms) + "\n";
        std::fwrite(line.data(), 1, line.size(), out);
      }
    });
    if (!st.ok()) return st;
  }
  if (std::fflush(out) != 0) return MakeError(ErrorCode::kIo, "cannot write the CSV");
  return OkStatus();
}

LocalCopy CheckLocalCopy(Dataset& dataset, const std::string& path, uint64_t size, const std::string& xxh3) {
  auto fd = dataset.OpenForRead(path);
  if (!fd.ok()) return LocalCopy::kMissing;
  auto digest = DigestFile(fd->get(), false);
  if (!digest.ok() || digest->size != size || digest->xxh3 != xxh3) return LocalCopy::kChanged;
  return LocalCopy::kSame;
}

Result<VerifyReport> VerifyDataset(const std::string& dataset_dir, const std::string& state_dir) {
  const auto started = std::chrono::steady_clock::now();
  auto dirs = ManifestDirs(dataset_dir, state_dir);
  if (!dirs.ok()) return dirs.error();
  auto dataset = Dataset::Open(dataset_dir, dirs->front());
  if (!dataset.ok()) return dataset.error();
  std::vector<std::unique_ptr<Manifest>> manifests;  // one, or one per shard
  for (const auto& dir : *dirs) {
    auto manifest = Manifest::Open(dir);
    if (!manifest.ok()) return manifest.error();
    manifests.push_back(std::move(*manifest));
  }
  VerifyReport report;
  std::mutex mu;  // guards report
  for (auto& manifest : manifests) {
    Status walked = manifest->ForEachChunk(512, [&](std::vector<ObjectRow>& rows) {
      oneapi::tbb::parallel_for(size_t{0}, rows.size(), [&](size_t i) {
        const ObjectRow& row = rows[i];
        if (row.verified_by == "folder") return;
        const LocalCopy copy = CheckLocalCopy(**dataset, row.path, row.size, row.xxh3);
        std::lock_guard<std::mutex> lock(mu);
        report.checked++;
        switch (copy) {
          case LocalCopy::kMissing: report.missing.push_back(row.path); break;
          case LocalCopy::kChanged: report.changed.push_back(row.path); break;
          case LocalCopy::kSame: report.bytes += row.size; break;
        }
      });
    });
    if (!walked.ok()) return walked.error();
  }
  for (const std::string& path : (*dataset)->ListFiles()) {
    bool known = false;
    for (auto& manifest : manifests) {
      auto has = manifest->HasPath(path);
      if (!has.ok()) return has.error();
      if ((known = *has)) break;
    }
    if (!known) report.extra.push_back(path);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace riptide::engine
