// The service's YAML configuration: where it listens, where it keeps its state, who may
// trigger, and the jobs it runs. Every problem is reported at once, each with its line,
// before anything starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apps/serve/schedule.h"
#include "engine/config/job_spec.h"
#include "engine/process/process_job.h"

namespace riptide::serve {

struct ServeJob {
  std::string name;
  engine::JobSpec spec;
  Schedule schedule;
  int line = 0;  // where the job starts in the file, 1-based
  bool on_event = false;  // object events for its source bucket and prefix transfer those keys
  bool move = false;      // delete each source object once its copy is verified
  std::optional<engine::ProcessCommand> process;  // bytes pass through this command on the way
  // The source bucket and prefix (normalised to end in '/'), which events are matched on.
  std::string source_bucket, source_prefix;

  /// True when an event for `bucket`/`key` is this job's: its bucket, below its prefix,
  /// and not left out by its include/exclude rules.
  bool Covers(const std::string& bucket, const std::string& key) const;
};

struct ServeConfig {
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;
  std::string state_dir;
  std::string auth_token;   // empty: no token (POSTs only from a loopback listener)
  bool auth_reads = false;  // GETs need the token too (health checks excepted)
  int max_parallel_jobs = 4;
  int concurrency = 256;               // requests in flight, all jobs together
  uint64_t memory_limit = 1ull << 30;  // part bodies held by copies and uploads, all jobs together
  std::chrono::seconds shutdown_timeout{30};
  std::chrono::seconds ready_cache{30};  // how long a /readyz probe of a job's buckets is reused
  std::string bwlimit;                   // bytes per second for all jobs together (see BandwidthLimit)
  std::vector<ServeJob> jobs;

  /// "HOST:PORT" ("[::1]:8080" too; port 0: any free one) into listen_host and listen_port.
  Status SetListen(const std::string& listen);
  /// Loopback listeners accept POSTs without a token.
  bool ListenIsLoopback() const;
  const ServeJob* Find(const std::string& name) const;
};

/// Parses `text` (the file at `path`, for messages); `${VAR}` and `${VAR:-default}` in
/// values come from the environment in `sources`, and remotes named by jobs must exist.
/// On failure, every problem found, one per line: "PATH:LINE: message".
Result<ServeConfig> ParseServeConfig(const std::string& text, const std::string& path,
                                     const s3::ConfigSources& sources);

}  // namespace riptide::serve
