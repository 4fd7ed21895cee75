#include "apps/serve/serve_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "apps/serve/config_fields.h"
#include "engine/process/child_process.h"
#include "planner/filter.h"
#include "planner/key_mapping.h"
#include "transport/s3/remotes.h"
#include "transport/s3/uri.h"

namespace riptide::serve {
namespace {

using config::Fields;
using config::Problems;

bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// A job's source or destination: a bucket URL or remote that resolves, or a local path.
void CheckEnd(const std::string& what, const std::string& value, const engine::ClientSpec& client,
              const s3::ConfigSources& sources, const YAML::Mark& mark, Problems& problems) {
  if (value.empty()) return problems.Add(mark, what + " is missing");
  if (!engine::NamesBucket(value)) {
    if (value.front() != '/') problems.Add(mark, what + " '" + value + "' must be an absolute path or a bucket");
    return;
  }
  std::string url = value;
  engine::ClientResolver resolver(client, sources);
  if (Status st = resolver.UseRemote(&url); !st.ok()) return problems.Add(mark, what + ": " + st.error().message);
  if (auto parsed = s3::ParseS3Url(url); !parsed.ok()) problems.Add(mark, what + ": " + parsed.error().message);
}

// Every key of a job into its spec; `every` and `cron` as written, checked by CheckJob.
void ReadJobFields(Fields& f, ServeJob& job, std::string* every, std::string* cron) {
  engine::JobSpec& spec = job.spec;
  f.String("name", &job.name);
  f.String("source", &spec.source);
  f.String("destination", &spec.destination);
  f.String("every", every);
  f.String("schedule", cron);
  f.Bool("delete", &spec.delete_extraneous);
  f.Bool("on_event", &job.on_event);
  f.Bool("move", &job.move);
  std::vector<std::string> command;
  f.List("process", &command);
  bool shell = false;
  f.Bool("process_shell", &shell);
  engine::ProcessCommand process;
  f.String("process_suffix", &process.suffix);
  f.Seconds("process_timeout", &process.timeout);
  if (!command.empty()) {
    process.argv = command;
    if (shell) {
      process.argv = {"/bin/sh", "-c", command.size() == 1 ? command[0] : std::string()};
    } else if (command.size() == 1) {
      auto words = engine::SplitCommand(command[0]);
      process.argv = words.ok() ? *words : std::vector<std::string>{};
    }
    job.process = process;
  }
  f.Int("max_delete", &spec.max_delete, 0, int64_t{1} << 40);
  std::vector<std::string> include, exclude;
  f.List("include", &include);
  f.List("exclude", &exclude);
  // With any include, everything else is left out; an exclude wins over an include
  // (the last matching rule decides).
  if (!include.empty()) spec.filters.emplace_back(false, "**");
  for (const auto& p : include) spec.filters.emplace_back(true, p);
  for (const auto& p : exclude) spec.filters.emplace_back(false, p);
  f.Bool("checksum", &spec.checksum);
  f.Bool("newer", &spec.newer);
  f.String("state_dir", &spec.state_dir);
  f.IntOrAuto("concurrency", &spec.concurrency, 1, 4096, engine::kAutoConcurrency);
  f.Size("part_size", &spec.part_size, uint64_t{64} << 10, uint64_t{5} << 30);
  f.Size("multipart_threshold", &spec.multipart_threshold, 0, uint64_t{5} << 40);
  f.Size("memory_limit", &spec.memory_limit, uint64_t{32} << 20, uint64_t{1} << 40);
  f.Int("page_size", &spec.page_size, 1, 1000);
  f.Int("list_concurrency", &spec.list_concurrency, 1, 256);
  f.String("copy_mode", &spec.copy_mode);
  // Per-job connection settings over the service's.
  f.String("endpoint", &spec.client.endpoint);
  f.String("region", &spec.client.region);
  f.String("profile", &spec.client.profile);
  f.String("ca_bundle", &spec.client.ca_bundle);
  f.Bool("path_style", &spec.client.path_style);
  f.Bool("no_sign_request", &spec.client.no_sign_request);
  f.Int("retries", &spec.client.retries, 0, 100);
  f.Int("stall_timeout", &spec.client.stall_timeout_s, 1, 86400);
  f.RefuseUnknown();
}

// The bucket and prefix of a bucket source: s3://BUCKET/PREFIX or REMOTE:BUCKET/PREFIX.
bool SourceBucket(const std::string& source, ServeJob& job) {
  std::string bucket_path;
  if (s3::LooksLikeS3Url(source)) {
    auto url = s3::ParseS3Url(source);
    if (!url.ok()) return false;
    bucket_path = url->bucket + "/" + url->prefix;
  } else if (auto remote = s3::SplitRemoteUrl(source)) {
    bucket_path = remote->second;
  } else {
    return false;
  }
  const size_t slash = bucket_path.find('/');
  job.source_bucket = bucket_path.substr(0, slash);
  job.source_prefix = slash == std::string::npos ? "" : planner::NormalizePrefix(bucket_path.substr(slash + 1));
  return !job.source_bucket.empty();
}

// The schedule a job asks for: an interval, a cron expression, or neither.
void TakeSchedule(Fields& f, const std::string& every, const std::string& cron, ServeJob& job, Problems& problems) {
  if (!every.empty() && !cron.empty()) {
    problems.Add(f.MarkOf("schedule"), "give every or schedule, not both");
  } else if (!every.empty()) {
    auto d = ParseDuration(every);
    if (d.ok()) job.schedule = Schedule::Every(*d);
    else problems.Add(f.MarkOf("every"), "every: " + d.error().message);
  } else if (!cron.empty()) {
    auto s = Schedule::Cron(cron);
    if (s.ok()) job.schedule = *s;
    else problems.Add(f.MarkOf("schedule"), s.error().message);
  }
}

ServeJob ReadJob(const YAML::Node& node, const ServeConfig& config, const engine::ClientSpec& shared,
                 const s3::ConfigSources& sources, Problems& problems) {
  ServeJob job;
  job.line = node.Mark().line + 1;
  job.spec.client = shared;
  Fields f(node, sources.env, problems, "a job");
  std::string every, cron;
  ReadJobFields(f, job, &every, &cron);
  const engine::JobSpec& spec = job.spec;
  const YAML::Mark at = node.Mark();
  if (job.name.empty()) {
    problems.Add(at, "a job needs a name");
  } else if (!ValidName(job.name)) {
    problems.Add(f.MarkOf("name"), "job name '" + job.name + "' may hold only letters, digits, '-', '_' and '.'");
  } else if (config.Find(job.name)) {
    problems.Add(f.MarkOf("name"), "a second job called '" + job.name + "'");
  }
  CheckEnd("source", spec.source, spec.client, sources, spec.source.empty() ? at : f.MarkOf("source"), problems);
  CheckEnd("destination", spec.destination, spec.client, sources,
           spec.destination.empty() ? at : f.MarkOf("destination"), problems);
  if (!spec.source.empty() && !engine::NamesBucket(spec.source) && !engine::NamesBucket(spec.destination)) {
    problems.Add(f.MarkOf("destination"), "a local source needs a bucket destination");
  }
  if (spec.copy_mode != "auto" && spec.copy_mode != "server-side" && spec.copy_mode != "streamed") {
    problems.Add(f.MarkOf("copy_mode"), "copy_mode must be auto, server-side or streamed");
  }
  if (spec.max_delete >= 0 && !spec.delete_extraneous) {
    problems.Add(f.MarkOf("max_delete"), "max_delete without delete: true does nothing");
  }
  if (job.process && (job.process->argv.empty() || job.process->argv.back().empty())) {
    problems.Add(f.MarkOf("process"), "process: a command (a string split at blanks with quotes, a list of words, "
                                      "or one string with process_shell: true)");
  }
  if (!job.process && (f.Has("process_suffix") || f.Has("process_timeout") || f.Has("process_shell"))) {
    problems.Add(at, "process_suffix, process_timeout and process_shell need process");
  }
  if ((job.on_event || job.move || job.process) && !spec.source.empty()) {
    if (!SourceBucket(spec.source, job)) {
      const char* what = job.on_event ? "on_event" : job.move ? "move" : "process";
      problems.Add(f.MarkOf(what), std::string(what) + " needs a bucket source");
    }
  }
  TakeSchedule(f, every, cron, job, problems);
  return job;
}

void ReadJobs(const YAML::Node& jobs, ServeConfig& config, const engine::ClientSpec& shared,
              const s3::ConfigSources& sources, Problems& problems) {
  if (!jobs.IsDefined() || jobs.IsNull() || (jobs.IsSequence() && jobs.size() == 0)) {
    problems.Add(1, "jobs is missing: the service needs at least one job");
  } else if (!jobs.IsSequence()) {
    problems.Add(jobs.Mark(), "jobs must be a list");
  } else {
    for (const auto& node : jobs) {
      if (!node.IsMap()) {
        problems.Add(node.Mark(), "each job must be a map with name, source and destination");
        continue;
      }
      config.jobs.push_back(ReadJob(node, config, shared, sources, problems));
    }
  }
}

}  // namespace

Status ServeConfig::SetListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(port) > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "must be HOST:PORT (e.g. 127.0.0.1:8080), not '" + listen + "'");
  }
  listen_host = listen.substr(0, colon);
  if (listen_host.size() > 2 && listen_host.front() == '[') listen_host = listen_host.substr(1, listen_host.size() - 2);
  listen_port = std::stoi(port);
  return OkStatus();
}

bool ServeConfig::ListenIsLoopback() const { return s3::IsLoopbackHost(listen_host); }

const ServeJob* ServeConfig::Find(const std::string& name) const {
  for (const auto& j : jobs) {
    if (j.name == name) return &j;
  }
  return nullptr;
}

Result<ServeConfig> ParseServeConfig(const std::string& text, const std::string& path,
                                     const s3::ConfigSources& sources) {
  Problems problems(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.Add(e.mark, "not valid YAML: " + e.msg);
    return MakeError(ErrorCode::kInvalidArgument, problems.Joined());
  }
  if (!root.IsMap()) {
    problems.Add(0, "the config must be a map with listen, state_dir and jobs");
    return MakeError(ErrorCode::kInvalidArgument, problems.Joined());
  }
  ServeConfig config;
  Fields f(root, sources.env, problems, "the service config");
  std::string listen;
  f.String("listen", &listen);
  if (!listen.empty()) {
    if (Status st = config.SetListen(listen); !st.ok()) problems.Add(f.MarkOf("listen"), "listen " + st.error().message);
  }
  f.String("state_dir", &config.state_dir);
  f.String("auth_token", &config.auth_token);
  f.Bool("auth_reads", &config.auth_reads);
  engine::ClientSpec shared;
  f.String("rclone_config", &shared.rclone_config_file);
  f.String("riptide_config", &shared.config_file);
  f.Int("max_parallel_jobs", &config.max_parallel_jobs, 1, 256);
  f.Int("concurrency", &config.concurrency, 1, 65536);
  f.Size("memory_limit", &config.memory_limit, uint64_t{32} << 20, uint64_t{1} << 40);
  f.Seconds("shutdown_timeout", &config.shutdown_timeout);
  f.Seconds("ready_cache", &config.ready_cache);
  f.String("bwlimit", &config.bwlimit);
  if (!config.bwlimit.empty()) {
    if (auto limit = http::BandwidthLimit::Parse(config.bwlimit); !limit.ok()) {
      problems.Add(f.MarkOf("bwlimit"), limit.error().message);
    }
  }
  f.Has("jobs");
  f.RefuseUnknown();
  if (config.state_dir.empty()) problems.Add(1, "state_dir is missing: where the service keeps its history");
  if (config.auth_reads && config.auth_token.empty()) {
    problems.Add(f.MarkOf("auth_reads"), "auth_reads needs an auth_token");
  }
  ReadJobs(root["jobs"], config, shared, sources, problems);
  if (!problems.empty()) return MakeError(ErrorCode::kInvalidArgument, problems.Joined());
  return config;
}

bool ServeJob::Covers(const std::string& bucket, const std::string& key) const {
  if (bucket != source_bucket || key.compare(0, source_prefix.size(), source_prefix) != 0) return false;
  if (key.size() == source_prefix.size() || key.back() == '/') return false;  // the folder itself
  if (spec.filters.empty()) return true;
  planner::KeyFilter filter;
  for (const auto& [include, pattern] : spec.filters) filter.Add(include, pattern);
  return filter.Included(std::string_view(key).substr(source_prefix.size()));
}

}  // namespace riptide::serve
