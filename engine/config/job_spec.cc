#include "engine/config/job_spec.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/config/shard_file.h"
#include "engine/core/concurrency_control.h"
#include "planner/key_mapping.h"
#include "transport/s3/uri.h"

namespace riptide::engine {
namespace {

std::string Env(const s3::ConfigSources& sources, const char* name) {
  auto it = sources.env.find(name);
  return it == sources.env.end() ? std::string() : it->second;
}

Error Invalid(std::string message) { return MakeError(ErrorCode::kInvalidArgument, std::move(message)); }

// What one request in flight costs riptide at most: a curl handle with its 16 KiB
// receive buffer, TLS state, the transfer's bookkeeping (measured: ~25 MiB RSS at 64).
// Requests a job may have in flight: --concurrency, or what auto may reach.
int MostInFlight(const JobSpec& spec) {
  return spec.concurrency == kAutoConcurrency ? kAutoMaxConcurrency : spec.concurrency;
}

// With --concurrency auto, the most the tuner may reach.
int AffordableConcurrency(const JobSpec& spec) {
  constexpr uint64_t kBytesPerRequest = 256u << 10;
  constexpr uint64_t kBaseBytes = 24u << 20;  // listing pages, manifest cursor, threads
  const uint64_t limit = spec.memory_limit;
  const uint64_t affordable = (limit - std::min(limit, kBaseBytes)) / kBytesPerRequest;
  const bool adaptive = spec.concurrency == kAutoConcurrency;
  const auto asked = static_cast<uint64_t>(MostInFlight(spec));
  if (affordable < asked && !adaptive) {
    spdlog::info("--memory-limit {} MiB allows {} requests in flight, not {}", limit >> 20, affordable, asked);
  }
  return static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(affordable, asked)));
}

uint64_t PartSize(const JobSpec& spec) { return spec.part_size ? spec.part_size : kDefaultPartSize; }

// An ExpiredToken answer makes the temporary credentials of these clients refresh now.
void RefreshOnExpiry(RetryPolicy& retry, const std::vector<const s3::ClientConfig*>& clients) {
  std::vector<std::shared_ptr<s3::CredentialsProvider>> providers;
  for (const auto* c : clients) {
    if (c && c->provider) providers.push_back(c->provider);
  }
  if (providers.empty()) return;
  retry.on_expired_keys = [providers] {
    for (const auto& p : providers) p->Expired();
  };
}

// --shard-plan: the run lists, transfers and deletes only its range, with a state
// directory of its own so shards can fill one dataset at once.
Status ApplyShard(const JobSpec& spec, const s3::ConfigSources& sources, SyncOptions& o) {
  if (spec.shard_plan.empty()) {
    if (spec.shard >= 0) return Invalid("--shard needs --shard-plan");
    return OkStatus();
  }
  if (!o.keys.empty() || !o.keys_file.empty()) {
    return Invalid("--shard-plan lists its own range: not with --key or --keys-file");
  }
  auto plan = ReadShardPlan(spec.shard_plan);
  if (!plan.ok()) return plan.error();
  if (plan->bucket != o.bucket || plan->prefix != planner::NormalizePrefix(o.prefix)) {
    return Invalid("the shard plan " + spec.shard_plan + " was made for s3://" + plan->bucket + "/" + plan->prefix +
                   ", not " + spec.source);
  }
  const int count = static_cast<int>(plan->shards.size());
  auto index = ShardIndex(spec.shard, sources.env, count);
  if (!index.ok()) return index.error();
  const planner::KeyRange& range = plan->shards[static_cast<size_t>(*index)];
  o.range_after = range.after;
  o.range_last = range.last;
  const std::string base =
      o.state_dir.empty() ? o.dataset_dir + "/" + std::string(planner::kStateDirName) : o.state_dir;
  o.state_dir = ShardStateDir(base, *index, count);
  o.shard = std::to_string(*index) + "-of-" + std::to_string(count);
  return OkStatus();
}

Result<JobOptions> ResolveDownload(const JobSpec& spec, const s3::ConfigSources& sources,
                                   const http::TransportFactory& transports) {
  ClientResolver resolver(spec.client, sources, transports);
  std::string source = spec.source;
  if (Status st = resolver.UseRemote(&source); !st.ok()) return st.error();
  auto url = s3::ParseS3Url(source);
  if (!url.ok()) return url.error();
  const bool key_list = !spec.keys.empty() || !spec.keys_file.empty();
  if (Status st = CheckKeyListAgainstPrefix(key_list && !spec.keys_under_prefix, url->prefix); !st.ok()) {
    return st.error();
  }
  if (key_list && spec.delete_extraneous) {
    return Invalid("--delete needs a listing of the whole prefix: not with --key or --keys-file");
  }
  auto client = resolver.Client();
  if (!client.ok()) return client.error();
  SyncOptions o;
  o.client = std::move(*client);
  o.bucket = url->bucket;
  o.prefix = url->prefix;
  o.dataset_dir = spec.destination;
  o.state_dir = spec.state_dir;
  if (std::string tmp = Env(sources, "TMPDIR"); !tmp.empty()) o.scratch_dir = tmp;
  o.concurrency = AffordableConcurrency(spec);
  o.adaptive_concurrency = spec.concurrency == kAutoConcurrency;
  o.list_page_size = spec.page_size;
  o.list_concurrency = spec.list_concurrency;
  o.delete_extraneous = spec.delete_extraneous;
  o.max_delete = spec.max_delete;
  o.dry_run = spec.dry_run;
  o.plan_dir = spec.plan_dir;
  o.keys = spec.keys;
  o.keys_file = spec.keys_file;
  o.checksum = spec.checksum;
  o.compare_last_modified = spec.newer;
  for (const auto& [include, pattern] : spec.filters) o.filter.Add(include, pattern);
  o.parts.part_size_bytes = PartSize(spec);
  o.parts.threshold_bytes = spec.multipart_threshold ? spec.multipart_threshold
                            : spec.part_size        ? spec.part_size
                                                    : kWholeDownloadsUpTo;
  o.retry = resolver.Retry();
  RefreshOnExpiry(o.retry, {&o.client});
  o.transport = resolver.Transport(o.concurrency + o.list_concurrency + 4);
  if (Status st = ApplyShard(spec, sources, o); !st.ok()) return st.error();
  return JobOptions(std::move(o));
}

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool Overlap(const BucketSide& a, const BucketSide& b) {
  if (a.bucket != b.bucket || a.client.endpoint.Authority() != b.client.endpoint.Authority()) return false;
  const std::string& x = a.prefix;
  const std::string& y = b.prefix;
  return x.compare(0, y.size(), y) == 0 || y.compare(0, x.size(), x) == 0;
}

// The source of a copy: a bucket (a prefix, or one object for cp) or a local directory
// (or one file for cp); DST's prefix may become the one object's key.
Status ResolveCopySource(const JobSpec& spec, const ClientResolver& resolver, CopyOptions& o) {
  std::string& dst_prefix = o.destination.prefix;
  // cp of one object or file lands at DST's key, or under DST's folder by its base name.
  auto single_rel = [&](const std::string& name) {
    if (dst_prefix.empty() || dst_prefix.back() == '/') return BaseName(name);
    return std::exchange(dst_prefix, std::string());
  };
  if (NamesBucket(spec.source)) {
    auto src = resolver.Side(spec.source, MostInFlight(spec) + spec.list_concurrency + 4);
    if (!src.ok()) return src.error();
    o.source = std::move(*src);
    const std::string key = o.source->prefix;
    if (!spec.compare && !key.empty() && key.back() != '/') {
      o.single = NamedEntry{key, "", single_rel(key)};
      o.source->prefix.clear();
    } else {
      o.source->prefix = planner::NormalizePrefix(key);
      dst_prefix = planner::NormalizePrefix(dst_prefix);
      if (Overlap(*o.source, o.destination)) {
        return Invalid("SRC and DST overlap (" + spec.source + ", " + spec.destination +
                       "): a copy would read what it writes");
      }
    }
  } else {
    struct stat st {};
    if (::stat(spec.source.c_str(), &st) != 0) return Invalid("cannot read " + spec.source + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) {
      o.source_dir = spec.source;
      dst_prefix = planner::NormalizePrefix(dst_prefix);
    } else if (!spec.compare && S_ISREG(st.st_mode)) {
      o.single = NamedEntry{"", spec.source, single_rel(spec.source)};
    } else {
      return Invalid(spec.source + " is not a directory" + (spec.compare ? " (riptide cp uploads one file)" : ""));
    }
  }
  if (o.single && o.single->rel.empty()) return Invalid("cannot tell a destination key from " + spec.source);
  return OkStatus();
}

Result<JobOptions> ResolveCopy(const JobSpec& spec, const s3::ConfigSources& sources,
                               const http::TransportFactory& transports) {
  if ((!spec.keys.empty() && !spec.keys_under_prefix) || !spec.keys_file.empty()) {
    return Invalid("--key/--keys-file applies to downloads into a directory, not to a bucket DST");
  }
  if (spec.newer) return Invalid("--newer applies to downloads into a directory, not to a bucket DST");
  if (!spec.shard_plan.empty()) return Invalid("--shard-plan applies to downloads into a directory, not to a bucket DST");
  ClientResolver resolver(spec.client, sources, transports);
  CopyOptions o;
  auto dst = resolver.Side(spec.destination, MostInFlight(spec) + spec.list_concurrency + 4);
  if (!dst.ok()) return dst.error();
  o.destination = std::move(*dst);
  if (Status st = ResolveCopySource(spec, resolver, o); !st.ok()) return st.error();
  if (!spec.keys.empty()) {
    if (!o.source) return Invalid("a key list names objects of a bucket: SRC must be a bucket");
    o.keys = spec.keys;
  }
  o.method = spec.copy_mode == "server-side" ? CopyOptions::Method::kServerSide
             : spec.copy_mode == "streamed"  ? CopyOptions::Method::kStreamed
                                             : CopyOptions::Method::kAuto;
  o.compare = spec.compare && o.keys.empty();  // named keys are copied as named: no listing of DST
  o.checksum = spec.checksum;
  o.delete_extraneous = spec.delete_extraneous;
  o.max_delete = spec.max_delete;
  for (const auto& [include, pattern] : spec.filters) o.filter.Add(include, pattern);
  o.dry_run = spec.dry_run;
  o.plan_dir = spec.plan_dir;
  o.state_dir = DefaultCopyStateDir(spec.state_dir, sources);
  o.adaptive_concurrency = spec.concurrency == kAutoConcurrency;
  o.concurrency = MostInFlight(spec);
  // Part bodies get a quarter of the limit; buffers, TLS, listings and bookkeeping the rest.
  o.memory_limit = spec.memory_limit / 4;
  o.part_size = PartSize(spec);
  o.multipart_threshold = spec.multipart_threshold ? spec.multipart_threshold : o.part_size;
  if (spec.multipart_threshold) o.copy_threshold = spec.multipart_threshold;
  o.list_page_size = spec.page_size;
  o.list_concurrency = spec.list_concurrency;
  o.retry = resolver.Retry();
  RefreshOnExpiry(o.retry, {&o.destination.client, o.source ? &o.source->client : nullptr});
  return JobOptions(std::move(o));
}

}  // namespace

void ShareBandwidth(JobOptions& options, const std::shared_ptr<http::RateLimiter>& send,
                    const std::shared_ptr<http::RateLimiter>& receive) {
  auto apply = [&](http::TransportOptions& t) {
    t.send_limit = send;
    t.receive_limit = receive;
  };
  if (auto* sync = std::get_if<SyncOptions>(&options)) return apply(sync->transport);
  auto& copy = std::get<CopyOptions>(options);
  apply(copy.destination.transport);
  if (copy.source) apply(copy.source->transport);
}

Result<std::pair<std::shared_ptr<http::RateLimiter>, std::shared_ptr<http::RateLimiter>>> MakeBandwidthLimits(
    const std::string& text) {
  auto limit = http::BandwidthLimit::Parse(text);
  if (!limit.ok()) return limit.error();
  auto make = [](const http::RateSchedule& s) {
    const bool limited = std::any_of(s.entries.begin(), s.entries.end(), [](const auto& e) { return e.rate > 0; });
    return limited ? std::make_shared<http::RateLimiter>(s) : nullptr;
  };
  return std::make_pair(make(limit->send), make(limit->receive));
}

Status CheckKeyListAgainstPrefix(bool key_list, const std::string& prefix) {
  if (!key_list || prefix.empty()) return OkStatus();
  return Invalid("a prefix in SRC, --key and --keys-file are mutually exclusive: a key list names whole keys, "
                 "so SRC must be s3://BUCKET");
}

Result<JobOptions> ResolveJob(const JobSpec& spec, const s3::ConfigSources& sources,
                              const http::TransportFactory& transports) {
  if (spec.source.empty() || spec.destination.empty()) return Invalid("a job needs a source and a destination");
  if (!NamesBucket(spec.destination) && !NamesBucket(spec.source)) {
    return Invalid("one of SRC and DST must be a bucket (s3://BUCKET/PREFIX or REMOTE:BUCKET/PREFIX)");
  }
  std::pair<std::shared_ptr<http::RateLimiter>, std::shared_ptr<http::RateLimiter>> limits;
  if (!spec.bwlimit.empty()) {
    auto parsed = MakeBandwidthLimits(spec.bwlimit);
    if (!parsed.ok()) return parsed.error();
    limits = std::move(*parsed);
  }
  auto options = NamesBucket(spec.destination) ? ResolveCopy(spec, sources, transports)
                                               : ResolveDownload(spec, sources, transports);
  if (options.ok() && !spec.bwlimit.empty()) ShareBandwidth(*options, limits.first, limits.second);
  return options;
}

}  // namespace riptide::engine
