#include "apps/inspect_commands.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "apps/format.h"
#include "apps/summary.h"
#include "engine/config/client_spec.h"
#include "engine/state/inspect.h"
#include "planner/key_mapping.h"
#include "transport/s3/uri.h"

namespace riptide::app {
InspectCommand::InspectCommand(CLI::App& app, GlobalOptions& global, Kind kind) : global_(global), kind_(kind) {
  switch (kind) {
    case Kind::kStatus:
      cmd_ = app.add_subcommand("status", "What a dataset's manifest says (source, objects, bytes, recent runs), or the "
                                          "recent copies into a bucket");
      break;
    case Kind::kVerify:
      cmd_ = app.add_subcommand("verify",
                                "Re-hash every file against the manifest (XXH3-128); list missing, changed and "
                                "extra files. Exit 1 when anything differs.");
      break;
    case Kind::kExport:
      cmd_ = app.add_subcommand("export", "Write the manifest as CSV (key,size,etag,last_modified,xxh3,synced_at)");
      cmd_->add_option("--csv", csv_, "FILE to write, '-' for standard output")->required();
      break;
  }
  if (kind == Kind::kStatus) {
    cmd_->add_option("dataset", dataset_,
                     "DIR: a dataset riptide filled, or s3://BUCKET[/PREFIX] (or REMOTE:…) that riptide copied into")
        ->required();
    cmd_->add_option("--state-dir", state_dir_,
                     "where its manifest lives (default DIR/.riptide); for a bucket, its copies' run logs (default "
                     "~/.local/state/riptide)");
    cmd_->add_flag("--all", all_, "every failure of the last run, not the first 20");
  } else {
    cmd_->add_option("dataset", dataset_, "DIR: a dataset riptide filled")->required();
    cmd_->add_option("--state-dir", state_dir_, "where its manifest lives (default DIR/.riptide)");
  }
  AddGlobalFlags(cmd_, global);
}

int InspectCommand::Refuse(const riptide::Error& e) {
  PrintFatal(e.message, global_.json, 2);
  return 2;
}

int InspectCommand::Run() {
  switch (kind_) {
    case Kind::kStatus: return Status();
    case Kind::kVerify: return Verify();
    case Kind::kExport: return Export();
  }
  return 2;
}

int InspectCommand::Export() {
  // Check the dataset before creating the output, so a failed export leaves no empty file.
  if (auto dirs = engine::ManifestDirs(dataset_, state_dir_); !dirs.ok()) return Refuse(dirs.error());
  std::FILE* out = csv_ == "-" ? stdout : std::fopen(csv_.c_str(), "w");
  if (!out) return Refuse(MakeError(ErrorCode::kIo, "cannot write " + csv_ + ": " + std::strerror(errno)));
  riptide::Status st = engine::ExportCsv(dataset_, state_dir_, out);
  if (out != stdout) std::fclose(out);
  if (!st.ok()) {
    return Refuse(st.error());
  }
  return 0;
}

namespace {

constexpr size_t kFailuresShown = 20;  // `status --all` shows every one

nlohmann::json RunsJson(const std::vector<engine::RunRecord>& runs, const engine::FailureList& failures, bool all) {
  nlohmann::json j;
  j["runs"] = nlohmann::json::array();
  for (const auto& run : runs) {
    j["runs"].push_back({{"started_ms", run.started_ms}, {"ended_ms", run.ended_ms}, {"status", run.status},
                         {"listed", run.listed}, {"transferred", run.transferred}, {"skipped", run.skipped},
                         {"failed", run.failed}, {"bytes", run.bytes}});
  }
  j["last_failures"] = nlohmann::json::array();
  j["last_failures_total"] = failures.size();
  for (const auto& [key, reason] : failures) {
    if (!all && j["last_failures"].size() == kFailuresShown) break;
    j["last_failures"].push_back({{"key", key}, {"reason", reason}});
  }
  return j;
}

void PrintRuns(const std::vector<engine::RunRecord>& runs, const engine::FailureList& failures, bool all) {
  for (const auto& run : runs) {
    const double secs = run.ended_ms ? static_cast<double>(run.ended_ms - run.started_ms) / 1000 : 0;
    std::printf("  %s  %-11s %7.1f s  listed %llu, transferred %llu, skipped %llu, failed %llu\n",
                LocalTime(run.started_ms).c_str(), run.status.c_str(), secs,
                static_cast<unsigned long long>(run.listed), static_cast<unsigned long long>(run.transferred),
                static_cast<unsigned long long>(run.skipped), static_cast<unsigned long long>(run.failed));
  }
  size_t shown = 0;
  for (const auto& [key, reason] : failures) {
    if (!all && shown == kFailuresShown) {
      std::printf("  … and %zu more failures (riptide status --all lists them)\n", failures.size() - shown);
      break;
    }
    std::printf("  failed last time: %s: %s\n", DumpJson(nlohmann::json(key)).c_str(), reason.c_str());
    ++shown;
  }
}

}  // namespace

int InspectCommand::Status() {
  if (engine::NamesBucket(dataset_)) return BucketStatus();
  auto r = engine::ReadStatus(dataset_, state_dir_);
  if (!r.ok()) return Refuse(r.error());
  if (global_.json) {
    nlohmann::json j{{"source", r->totals.source}, {"objects", r->totals.objects}, {"bytes", r->totals.bytes}};
    j.update(RunsJson(r->runs, r->last_failures, all_));
    std::printf("%s\n", DumpJson(j).c_str());
    return 0;
  }
  std::printf("%s: mirror of %s, %llu objects, %.1f MiB\n", dataset_.c_str(), r->totals.source.c_str(),
              static_cast<unsigned long long>(r->totals.objects), static_cast<double>(r->totals.bytes) / (1 << 20));
  PrintRuns(r->runs, r->last_failures, all_);
  return 0;
}

// `riptide status s3://BUCKET/PREFIX`: the copies into it recorded under the state dir.
int InspectCommand::BucketStatus() {
  s3::ConfigSources sources = s3::LoadConfigSources();
  std::string arg = dataset_;
  engine::ClientResolver remotes(engine::ClientSpec{}, sources);
  if (riptide::Status st = remotes.UseRemote(&arg); !st.ok()) return Refuse(st.error());
  auto url = s3::ParseS3Url(arg);
  if (!url.ok()) return Refuse(url.error());
  const std::string bucket_url = "s3://" + url->bucket + "/" + planner::NormalizePrefix(url->prefix);
  auto r = engine::ReadCopyStatus(engine::DefaultCopyStateDir(state_dir_, sources), bucket_url);
  if (!r.ok()) return Refuse(r.error());
  if (global_.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& d : *r) {
      nlohmann::json j{{"destination", d.destination}};
      j.update(RunsJson(d.runs, d.last_failures, all_));
      all.push_back(std::move(j));
    }
    std::printf("%s\n", DumpJson({{"destinations", all}}).c_str());
    return 0;
  }
  for (const auto& d : *r) {
    std::printf("%s: copies into %s\n", bucket_url.c_str(), d.destination.c_str());
    PrintRuns(d.runs, d.last_failures, all_);
  }
  return 0;
}

int InspectCommand::Verify() {
  auto r = engine::VerifyDataset(dataset_, state_dir_);
  if (!r.ok()) return Refuse(r.error());
  const int code = r->clean() ? 0 : 1;
  if (global_.json) {
    std::printf("%s\n", DumpJson({{"checked", r->checked}, {"bytes", r->bytes}, {"missing", r->missing},
                              {"changed", r->changed}, {"extra", r->extra}, {"seconds", r->seconds},
                              {"exit_code", code}})
                            .c_str());
    return code;
  }
  for (const auto& p : r->missing) std::printf("missing: %s\n", p.c_str());
  for (const auto& p : r->changed) std::printf("changed: %s\n", p.c_str());
  for (const auto& p : r->extra) std::printf("extra: %s\n", p.c_str());
  std::printf("checked %llu files (%.1f MiB) in %.2f s: %zu missing, %zu changed, %zu extra\n",
              static_cast<unsigned long long>(r->checked), static_cast<double>(r->bytes) / (1 << 20), r->seconds,
              r->missing.size(), r->changed.size(), r->extra.size());
  return code;
}

}  // namespace riptide::app
