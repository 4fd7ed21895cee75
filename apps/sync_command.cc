#include "apps/sync_command.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "apps/summary.h"
#include "engine/sync_job.h"
#include "transport/s3/config.h"
#include "transport/s3/uri.h"

namespace riptide::app {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

void OnSignal(int sig) {
  g_signal = sig;
  g_stop = true;
}

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

void AddGlobalFlags(CLI::App* cmd, GlobalOptions& global) {
  cmd->add_flag("-v,--verbose", global.verbosity, "more log output on stderr (-v info, -vv debug)");
  cmd->add_option("--log-format", global.log_format, "log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--json", global.json, "print the result as one JSON document on stdout");
}

SyncCommand::SyncCommand(CLI::App& app, GlobalOptions& global) : global_(global) {
  cmd_ = app.add_subcommand("sync", "Mirror s3://BUCKET[/PREFIX] into a local directory, verifying every byte");
  cmd_->add_option("source", source_, "s3://BUCKET[/PREFIX]: what to mirror (key PREFIX/a/b → DIR/a/b)")
      ->required();
  cmd_->add_option("destination", destination_, "DIR: the dataset directory (created if missing)")->required();
  cmd_->add_option("--endpoint", endpoint_,
                   "S3 endpoint URL, e.g. http://127.0.0.1:9000 (env AWS_ENDPOINT_URL; default AWS for the region)");
  cmd_->add_option("--region", region_, "signing region (env AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)");
  cmd_->add_option("--profile", profile_, "profile in ~/.aws/credentials and ~/.aws/config (env AWS_PROFILE)");
  auto* path = cmd_->add_flag("--path-style", path_style_,
                              "address buckets as ENDPOINT/BUCKET (default for IP and localhost endpoints)");
  cmd_->add_flag("--virtual-host", virtual_host_, "address buckets as BUCKET.ENDPOINT")->excludes(path);
  cmd_->add_flag("--no-sign-request", no_sign_request_, "send anonymous requests (public buckets)");
  cmd_->add_option("--concurrency", concurrency_, "objects transferred at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd_->add_option("--part-size", part_size_,
                   "bytes per ranged GET of a large object (e.g. 8M, 64MiB); objects uploaded in "
                   "parts (ETag …-N) are fetched by their own parts instead")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{64} << 10, uint64_t{5} << 30))
      ->default_str("16MiB");
  cmd_->add_option("--multipart-threshold", multipart_threshold_,
                   "objects larger than this are fetched in parts (default: the part size)")
      ->transform(CLI::AsSizeValue(false));
  cmd_->add_option("--memory-limit", memory_limit_,
                   "cap on riptide's own memory (bodies are never buffered: it bounds the "
                   "requests in flight, lowering --concurrency when needed)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{32} << 20, uint64_t{1} << 40))
      ->default_str("256MiB");
  cmd_->add_option("--page-size", page_size_, "keys per listing request (max-keys)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd_->add_option("--retries", retries_, "retries of a failed request or a mismatched object")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd_->add_option("--connect-timeout", connect_timeout_s_, "seconds to wait for a connection")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd_->add_option("--stall-timeout", stall_timeout_s_, "seconds without a byte before a transfer is retried")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd_->add_option("--state-dir", state_dir_, "where the manifest lives (default DIR/.riptide)");
  cmd_->add_option("--ca-bundle", ca_bundle_, "PEM file of CAs to trust for HTTPS (env AWS_CA_BUNDLE)");
  cmd_->add_flag("--no-verify-ssl", no_verify_ssl_, "do not verify TLS certificates (unsafe)");
  cmd_->add_flag("--no-progress", no_progress_, "no live progress line, even on a terminal");
  cmd_->add_flag("--dry-run", dry_run_, "plan only: count what would be transferred and deleted, touch nothing");
  // Kept in command-line order: the last matching rule decides.
  cmd_->add_option_function<std::vector<std::string>>(
          "--include", [this](const std::vector<std::string>& v) {
            for (const auto& p : v) filters_.emplace_back(true, p);
          },
          "GLOB: consider keys (relative to the prefix) that match; rules apply in order, the last "
          "match wins; '*' stays within a folder, '**' crosses folders")
      ->trigger_on_parse();
  cmd_->add_option_function<std::vector<std::string>>(
          "--exclude", [this](const std::vector<std::string>& v) {
            for (const auto& p : v) filters_.emplace_back(false, p);
          },
          "GLOB: leave out keys that match (never fetched, never deleted)")
      ->trigger_on_parse();
  cmd_->add_flag("--delete", delete_,
                 "delete local files whose keys left the bucket (after a complete listing); "
                 "without it they are only counted");
  cmd_->add_option("--max-delete", max_delete_,
                   "with --delete: if more files would go, delete none and exit 1")
      ->check(CLI::NonNegativeNumber);
  AddGlobalFlags(cmd_, global);
  cmd_->footer(
      "Exit status: 0 all objects in place, 1 some objects failed (each listed), 2 usage,\n"
      "configuration, credential or bucket errors, 130/143 interrupted.\n"
      "Credentials: flags > AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN > profile.");
}

int SyncCommand::Run() {
  auto fail = [&](const std::string& msg) {
    PrintFatal(msg, global_.json, 2);
    return 2;
  };
  auto url = s3::ParseS3Url(source_);
  if (!url.ok()) return fail(url.error().message);
  if (s3::LooksLikeS3Url(destination_)) {
    return fail("bucket-to-bucket sync is not supported yet: DST must be a local directory");
  }

  s3::ConfigFlags flags;
  flags.endpoint = endpoint_;
  flags.region = region_;
  flags.profile = profile_;
  flags.no_sign_request = no_sign_request_;
  if (path_style_) flags.addressing = s3::Addressing::kPath;
  if (virtual_host_) flags.addressing = s3::Addressing::kVirtualHost;
  s3::ConfigSources sources = s3::LoadConfigSources();
  auto client = s3::ResolveClientConfig(flags, sources);
  if (!client.ok()) return fail(client.error().message);

  engine::SyncOptions opt;
  opt.client = std::move(*client);
  opt.bucket = url->bucket;
  opt.prefix = url->prefix;
  opt.dataset_dir = destination_;
  opt.state_dir = state_dir_;
  // What one request in flight costs riptide at most: a curl handle with its 16 KiB
  // receive buffer, TLS state, the transfer's bookkeeping (measured: ~25 MiB RSS at 64).
  constexpr uint64_t kBytesPerRequest = 256u << 10;
  constexpr uint64_t kBaseBytes = 24u << 20;  // listing pages, manifest cursor, threads
  const uint64_t affordable = (memory_limit_ - std::min(memory_limit_, kBaseBytes)) / kBytesPerRequest;
  if (affordable < static_cast<uint64_t>(concurrency_)) {
    spdlog::info("--memory-limit {} MiB allows {} requests in flight, not {}", memory_limit_ >> 20, affordable,
                 concurrency_);
  }
  opt.concurrency = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(affordable, concurrency_)));
  opt.list_page_size = page_size_;
  opt.delete_extraneous = delete_;
  opt.dry_run = dry_run_;
  for (const auto& [include, pattern] : filters_) opt.filter.Add(include, pattern);
  opt.max_delete = max_delete_;
  opt.parts.part_size_bytes = part_size_;
  opt.parts.threshold_bytes = multipart_threshold_ ? multipart_threshold_ : part_size_;
  opt.retry.max_attempts = retries_ + 1;
  opt.transport.max_total_connections = opt.concurrency + 4;
  opt.transport.connect_timeout_ms = connect_timeout_s_ * 1000L;
  opt.transport.low_speed_time_s = stall_timeout_s_;
  opt.transport.verify_tls = !no_verify_ssl_;
  opt.transport.ca_bundle = ca_bundle_;
  if (opt.transport.ca_bundle.empty()) {
    if (auto it = sources.env.find("AWS_CA_BUNDLE"); it != sources.env.end()) opt.transport.ca_bundle = it->second;
  }

  InstallSignalHandlers();
  const bool show_progress = !no_progress_ && !global_.json && ::isatty(STDERR_FILENO);
  engine::ProgressFn progress;
  if (show_progress) progress = PrintProgress;
  auto report = engine::RunSync(opt, g_stop, progress);
  if (show_progress) EndProgress();
  if (!report.ok()) return fail(report.error().ToString());
  int code = ExitCodeFor(*report, g_signal);
  PrintSummary(*report, global_.json, code);
  return code;
}

}  // namespace riptide::app
