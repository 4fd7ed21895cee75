#include "apps/copy_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "apps/signals.h"
#include "apps/summary.h"
#include "engine/copy/copy_job.h"
#include "planner/key_mapping.h"
#include "transport/s3/uri.h"

namespace riptide::app {
namespace {

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// One side that is a bucket: its remote (if named), URL and client.
Result<engine::BucketSide> ResolveSide(const std::string& arg, const ClientFlags& flags_in,
                                       const s3::ConfigSources& sources, int connections) {
  ClientFlags flags = flags_in;
  std::string url_text = arg;
  if (Status st = flags.UseRemote(&url_text, sources); !st.ok()) return st.error();
  auto url = s3::ParseS3Url(url_text);
  if (!url.ok()) return url.error();
  auto client = flags.Resolve(sources);
  if (!client.ok()) return client.error();
  engine::BucketSide side;
  side.client = std::move(*client);
  side.transport = flags.Transport(sources, connections);
  side.bucket = url->bucket;
  side.prefix = url->prefix;
  return side;
}

bool Overlap(const engine::BucketSide& a, const engine::BucketSide& b) {
  if (a.bucket != b.bucket || a.client.endpoint.Authority() != b.client.endpoint.Authority()) return false;
  const std::string& x = a.prefix;
  const std::string& y = b.prefix;
  return x.compare(0, y.size(), y) == 0 || y.compare(0, x.size(), x) == 0;
}

}  // namespace

void TransferFlags::Add(CLI::App* cmd) {
  cmd->add_option("--concurrency", concurrency, "requests in flight")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--part-size", part_size,
                  "bytes per part (e.g. 8M, 64MiB): ranged GETs of large objects; upload parts (raised to S3's "
                  "5 MiB minimum and to stay within 10,000 parts). Objects uploaded in parts (ETag …-N) keep "
                  "their own parts")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{64} << 10, uint64_t{5} << 30))
      ->default_str("16MiB");
  cmd->add_option("--multipart-threshold", multipart_threshold,
                  "objects larger than this go in parts (default: the part size; server-side copies: 5 GiB)")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--memory-limit", memory_limit,
                  "cap on riptide's own memory: downloads lower --concurrency to fit; copies and uploads "
                  "hold part bodies in a quarter of it")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{32} << 20, uint64_t{1} << 40))
      ->default_str("256MiB");
  cmd->add_option("--page-size", page_size, "keys per listing request (max-keys)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--copy-mode", copy_mode,
                  "bucket to bucket: server-side (the server copies; one endpoint and one set of credentials), "
                  "streamed (ranged GETs piped into uploads), or auto")
      ->check(CLI::IsMember({"auto", "server-side", "streamed"}))
      ->capture_default_str();
  cmd->add_flag("--no-progress", no_progress, "no live progress line, even on a terminal");
}

bool NamesBucket(const std::string& arg) { return s3::LooksLikeS3Url(arg) || s3::SplitRemoteUrl(arg).has_value(); }

int RunCopyCommand(const CopyArgs& args, const TransferFlags& transfer, const ClientFlags& client,
                   const GlobalOptions& global) {
  auto fail = [&](const std::string& msg) {
    PrintFatal(msg, global.json, 2);
    return 2;
  };
  s3::ConfigSources sources = s3::LoadConfigSources();
  engine::CopyOptions opt;
  auto dst = ResolveSide(args.destination, client, sources, transfer.concurrency + 4);
  if (!dst.ok()) return fail(dst.error().message);
  opt.destination = std::move(*dst);
  std::string& dst_prefix = opt.destination.prefix;

  // cp of one object or file lands at DST's key, or under DST's folder by its base name.
  auto single_rel = [&](const std::string& name) {
    if (dst_prefix.empty() || dst_prefix.back() == '/') return BaseName(name);
    std::string rel = dst_prefix;
    dst_prefix.clear();
    return rel;
  };
  if (NamesBucket(args.source)) {
    auto src = ResolveSide(args.source, client, sources, transfer.concurrency + 4);
    if (!src.ok()) return fail(src.error().message);
    opt.source = std::move(*src);
    const std::string key = opt.source->prefix;
    if (!args.compare && !key.empty() && key.back() != '/') {
      opt.single = engine::NamedEntry{key, "", single_rel(key)};
      opt.source->prefix.clear();
    } else {
      opt.source->prefix = planner::NormalizePrefix(key);
      dst_prefix = planner::NormalizePrefix(dst_prefix);
      if (Overlap(*opt.source, opt.destination)) {
        return fail("SRC and DST overlap (" + args.source + ", " + args.destination +
                    "): a copy would read what it writes");
      }
    }
  } else {
    struct stat st {};
    if (::stat(args.source.c_str(), &st) != 0) {
      return fail("cannot read " + args.source + ": " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
      opt.source_dir = args.source;
      dst_prefix = planner::NormalizePrefix(dst_prefix);
    } else if (!args.compare && S_ISREG(st.st_mode)) {
      opt.single = engine::NamedEntry{"", args.source, single_rel(args.source)};
    } else {
      return fail(args.source + " is not a directory" + (args.compare ? " (riptide cp uploads one file)" : ""));
    }
  }
  if (opt.single && opt.single->rel.empty()) return fail("cannot tell a destination key from " + args.source);

  opt.method = transfer.copy_mode == "server-side" ? engine::CopyOptions::Method::kServerSide
               : transfer.copy_mode == "streamed"  ? engine::CopyOptions::Method::kStreamed
                                                   : engine::CopyOptions::Method::kAuto;
  opt.compare = args.compare;
  opt.checksum = args.checksum;
  opt.delete_extraneous = args.delete_extraneous;
  opt.max_delete = args.max_delete;
  for (const auto& [include, pattern] : args.filters) opt.filter.Add(include, pattern);
  opt.dry_run = args.dry_run;
  opt.plan_dir = args.plan_dir;
  opt.state_dir = args.state_dir;
  if (opt.state_dir.empty()) {
    auto env = [&](const char* name) {
      auto it = sources.env.find(name);
      return it == sources.env.end() ? std::string() : it->second;
    };
    if (!env("XDG_STATE_HOME").empty()) opt.state_dir = env("XDG_STATE_HOME") + "/riptide";
    else if (!env("HOME").empty()) opt.state_dir = env("HOME") + "/.local/state/riptide";
  }
  opt.concurrency = transfer.concurrency;
  // Part bodies get a quarter of the limit; buffers, TLS, listings and bookkeeping the rest.
  opt.memory_limit = transfer.memory_limit / 4;
  opt.part_size = transfer.part_size;
  opt.multipart_threshold = transfer.multipart_threshold ? transfer.multipart_threshold : transfer.part_size;
  if (transfer.multipart_threshold) opt.copy_threshold = transfer.multipart_threshold;
  opt.list_page_size = transfer.page_size;
  opt.retry = client.Retry();

  InstallSignalHandlers();
  const bool show_progress = !transfer.no_progress && !global.json && ::isatty(STDERR_FILENO);
  auto report = engine::RunCopy(opt, global.runtime->Host(engine::CancelToken(&StopFlag()),
                                                          show_progress ? engine::ProgressFn(PrintProgress) : nullptr));
  if (show_progress) EndProgress();
  if (!report.ok()) return fail(report.error().ToString());
  int code = ExitCodeFor(*report, SignalNumber());
  PrintSummary(*report, global.json, code);
  return code;
}

CpCommand::CpCommand(CLI::App& app, GlobalOptions& global) : global_(global) {
  cmd_ = app.add_subcommand("cp", "Copy one object, one file, a prefix (SRC ending in /) or a directory into a "
                                  "bucket, everything named, no diff");
  cmd_->add_option("source", args_.source,
                   "s3://BUCKET/KEY, s3://BUCKET/PREFIX/, REMOTE:BUCKET/…, a local file or a local directory")
      ->required();
  cmd_->add_option("destination", args_.destination,
                   "s3://BUCKET/KEY or s3://BUCKET/PREFIX/ (or REMOTE:…): one object lands at KEY, or under "
                   "PREFIX/ by its base name")
      ->required();
  client_.Add(cmd_);
  transfer_.Add(cmd_);
  cmd_->add_flag("--dry-run", args_.dry_run, "count what would be copied, copy nothing");
  cmd_->add_option("--state-dir", args_.state_dir,
                   "where the journal of open multipart uploads lives (default ~/.local/state/riptide)");
  cmd_->add_option_function<std::vector<std::string>>(
         "--include", [this](const std::vector<std::string>& v) {
           for (const auto& p : v) args_.filters.emplace_back(true, p);
         },
         "GLOB: copy only keys (relative to the prefix) that match; the last matching rule wins")
      ->trigger_on_parse();
  cmd_->add_option_function<std::vector<std::string>>(
         "--exclude", [this](const std::vector<std::string>& v) {
           for (const auto& p : v) args_.filters.emplace_back(false, p);
         },
         "GLOB: leave out keys that match")
      ->trigger_on_parse();
  AddGlobalFlags(cmd_, global);
  cmd_->footer("Exit status: 0 all copied, 1 some objects failed (each listed), 2 usage, configuration,\n"
               "credential or bucket errors, 130/143 interrupted. Downloads: use `riptide sync s3://… DIR`.");
}

int CpCommand::Run() {
  args_.compare = false;
  if (!NamesBucket(args_.destination)) {
    PrintFatal("cp copies into a bucket (DST s3://… or REMOTE:…); to download into a directory use riptide sync",
               global_.json, 2);
    return 2;
  }
  return RunCopyCommand(args_, transfer_, client_, global_);
}

}  // namespace riptide::app
