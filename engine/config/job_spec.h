// A transfer job as a user states it, whatever the front end (the CLI's flags, the
// service's YAML), and its resolution into the options of the job that runs it: a
// download into a directory, or a copy into a bucket (from a bucket or a directory).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/config/client_spec.h"
#include "engine/core/listing.h"
#include "engine/copy/copy_options.h"
#include "engine/download/sync_options.h"

namespace riptide::engine {

/// JobSpec::concurrency for --concurrency auto.
inline constexpr int kAutoConcurrency = 0;
/// The part size unless one is given.
inline constexpr uint64_t kDefaultPartSize = 16u << 20;
/// Downloads with neither a part size nor a threshold given fetch objects up to this size
/// in one GET: while many objects are in flight, splitting one that fits in four parts
/// buys no connections, and costs requests, journal flushes and an ordered hash
/// (perf/RESULTS.md, "Whole GETs up to 64 MiB").
inline constexpr uint64_t kWholeDownloadsUpTo = 64u << 20;

struct JobSpec {
  std::string source;       // s3://BUCKET[/PREFIX], REMOTE:BUCKET[/PREFIX], or a local directory
  std::string destination;  // a dataset directory, or a bucket
  ClientSpec client;        // both sides; a remote's own settings apply to its side

  // Which objects.
  std::vector<std::pair<bool, std::string>> filters;  // (include?, glob), in order; the last match wins
  std::vector<std::string> keys;                      // exactly these keys, no listing
  std::string keys_file;                              // the same, one key per line
  std::string shard_plan;          // `riptide shard plan` output: this run does one shard of it
  int shard = -1;                  // which; -1: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX
  bool keys_under_prefix = false;  // the keys are whole keys below SRC's prefix (the service's event
                                   // runs); bucket DSTs copy them without listing DST

  // What to do.
  bool compare = true;             // false (cp): copy everything named, no diff, no manifest
  bool dry_run = false;            // plan and count, transfer and delete nothing
  bool checksum = false;           // re-hash local files instead of trusting size and mtime
  bool newer = false;              // downloads: a newer LastModified also means changed
  bool delete_extraneous = false;  // remove what the source no longer has
  int64_t max_delete = -1;         // refuse (delete nothing) above this many; -1 none
  std::string state_dir;           // default DIR/.riptide; bucket DSTs: ~/.local/state/riptide
  std::string plan_dir;            // write the plan's lists here

  // How much at once.
  int concurrency = kAutoConcurrency;    // requests in flight, or found while running (auto)
  uint64_t part_size = 0;                // 0: kDefaultPartSize (and downloads split above kWholeDownloadsUpTo)
  uint64_t multipart_threshold = 0;      // 0: the part size given, else kWholeDownloadsUpTo for downloads and kDefaultPartSize for copies (server-side copies: 5 GiB)
  uint64_t memory_limit = 256u << 20;    // downloads lower concurrency to fit; copies hold bodies in a quarter
  int page_size = 1000;                  // max-keys per listing request
  int list_concurrency = kDefaultListConcurrency;  // key ranges listed at once
  std::string copy_mode = "auto";        // bucket to bucket: auto, server-side, streamed
  std::string bwlimit;                   // bytes per second, UP:DOWN or a schedule (see BandwidthLimit)
};

/// The options of the job a spec asks for.
using JobOptions = std::variant<SyncOptions, CopyOptions>;

/// Every transport of `options` draws on these limits (null: none): one job's, or the
/// whole service's.
void ShareBandwidth(JobOptions& options, const std::shared_ptr<http::RateLimiter>& send,
                    const std::shared_ptr<http::RateLimiter>& receive);
/// Limiters for a --bwlimit text (null where a direction is never limited).
Result<std::pair<std::shared_ptr<http::RateLimiter>, std::shared_ptr<http::RateLimiter>>> MakeBandwidthLimits(
    const std::string& text);

/// A key list names whole keys: refused beside a prefix in SRC.
Status CheckKeyListAgainstPrefix(bool key_list, const std::string& prefix);

/// Resolves a spec: URLs and remotes, credentials and endpoints, the memory policy, the
/// state directory. Errors are one line, naming what to change.
/// `transports` fetches temporary credentials when the environment or profile names a
/// source of them (the process runtime's factory).
Result<JobOptions> ResolveJob(const JobSpec& spec, const s3::ConfigSources& sources,
                              const http::TransportFactory& transports = nullptr);

}  // namespace riptide::engine
