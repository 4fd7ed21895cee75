#include "apps/cleanup_command.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/format.h"
#include "apps/summary.h"
#include "engine/core/listing.h"
#include "transport/http/fetch.h"
#include "transport/s3/config.h"
#include "transport/s3/uri.h"

namespace riptide::app {
int64_t ParseDurationSeconds(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return -1;  // 10^12 days still fits in int64 seconds
  const int64_t n = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  return -1;
}

CleanupCommand::CleanupCommand(CLI::App& app, GlobalOptions& global) : global_(global) {
  cmd_ = app.add_subcommand("cleanup",
                            "Abort multipart uploads under s3://BUCKET[/PREFIX] begun longer ago than "
                            "--older-than and never finished (their parts are stored until aborted)");
  cmd_->add_option("source", source_, "s3://BUCKET[/PREFIX] or REMOTE:BUCKET[/PREFIX]")->required();
  cmd_->add_option("--older-than", older_than_,
                   "only uploads begun at least this long ago: 90s, 30m, 24h, 7d (0s: all); an upload "
                   "still running elsewhere would be broken")
      ->capture_default_str();
  cmd_->add_flag("--dry-run", dry_run_, "list what would be aborted, abort nothing");
  client_.Add(cmd_);
  AddGlobalFlags(cmd_, global);
}

int CleanupCommand::Run() {
  auto fail = [&](const std::string& msg) {
    PrintFatal(msg, global_.json, 2);
    return 2;
  };
  const int64_t age_s = ParseDurationSeconds(older_than_);
  if (age_s < 0) return fail("--older-than '" + older_than_ + "' is not a duration such as 90s, 30m, 24h or 7d");
  s3::ConfigSources sources = s3::LoadConfigSources();
  engine::ClientResolver resolver = client_.Resolver(sources, global_.runtime->Host().transports);
  if (Status st = resolver.UseRemote(&source_); !st.ok()) return fail(st.error().message);
  auto url = s3::ParseS3Url(source_);
  if (!url.ok()) return fail(url.error().message);
  auto client = resolver.Client();
  if (!client.ok()) return fail(client.error().message);
  std::unique_ptr<http::Transport> transport = global_.runtime->Host().transports(resolver.Transport(16));
  s3::RequestFactory requests(std::move(*client));
  engine::ListTarget target{*transport, requests, url->bucket, resolver.Retry()};

  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t cutoff_ms = now_ms - age_s * 1000;
  uint64_t seen = 0, aborted = 0, kept = 0;
  std::vector<std::pair<std::string, std::string>> failures;
  nlohmann::json listed = nlohmann::json::array();
  // Each page's uploads are aborted as it arrives: the next page starts after the
  // page's markers (a key and an upload id), which aborting listed uploads leaves valid.
  Status st = engine::ForEachUploadsPage(target, url->prefix, [&](const s3::UploadsPage& page) -> Status {
    for (const auto& u : page.uploads) {
      seen++;
      if (u.initiated_ms < 0 || u.initiated_ms > cutoff_ms) {
        kept++;
        continue;
      }
      Status done = dry_run_ ? OkStatus() : engine::AbortUpload(target, u);
      if (!done.ok()) {
        failures.emplace_back(u.key, done.error().ToString());
        continue;
      }
      aborted++;
      if (global_.json) {
        listed.push_back({{"key", u.key}, {"upload_id", u.upload_id}, {"initiated", UtcTime(u.initiated_ms)}});
      } else {
        std::printf("%s %s (upload begun %s)\n", dry_run_ ? "would abort" : "aborted", u.key.c_str(),
                    UtcTime(u.initiated_ms).c_str());
      }
    }
    return OkStatus();
  });
  if (!st.ok()) {
    return fail("cannot list the multipart uploads of s3://" + url->bucket + "/" + url->prefix + ": " +
                st.error().ToString());
  }
  return Report(seen, aborted, kept, failures, listed);
}

int CleanupCommand::Report(uint64_t seen, uint64_t aborted, uint64_t kept,
                           const std::vector<std::pair<std::string, std::string>>& failures,
                           const nlohmann::json& listed) const {
  const int code = failures.empty() ? 0 : 1;
  if (global_.json) {
    nlohmann::json j{{"uploads", seen}, {dry_run_ ? "would_abort" : "aborted", aborted}, {"kept", kept},
                     {"dry_run", dry_run_}, {"exit_code", code}, {"listed", listed}};
    j["failures"] = nlohmann::json::array();
    for (const auto& [key, why] : failures) j["failures"].push_back({{"key", key}, {"reason", why}});
    std::printf("%s\n", DumpJson(j).c_str());
    return code;
  }
  for (const auto& [key, why] : failures) std::fprintf(stderr, "failed: %s: %s\n", key.c_str(), why.c_str());
  std::printf("%llu unfinished uploads, %llu %s, %llu younger than %s kept, %zu failed\n",
              static_cast<unsigned long long>(seen), static_cast<unsigned long long>(aborted),
              dry_run_ ? "would be aborted" : "aborted", static_cast<unsigned long long>(kept), older_than_.c_str(),
              failures.size());
  return code;
}

}  // namespace riptide::app
