#include "apps/copy_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "apps/cp_download.h"
#include "apps/run_job.h"
#include "apps/summary.h"

namespace riptide::app {
namespace {

// An option taking a byte count written as a person writes it: "SIZE", 16MiB, 8M.
template <typename T>
CLI::Option* SizeOption(CLI::App* cmd, const std::string& name, T& value, const std::string& help) {
  return cmd->add_option(name, value, help)->transform(CLI::AsSizeValue(false).description(""))->type_name("SIZE");
}

}  // namespace

void TransferFlags::Add(CLI::App* cmd) {
  InGroup(cmd, "Performance", [&] {
    ConcurrencyOption(cmd, concurrency);
    // Sizes read as a person writes them (SIZE: 16MiB, 8M, 1G), their bounds in the text.
    SizeOption(cmd, "--part-size", part_size,
               "bytes per part, 64KiB to 5GiB (e.g. 8M, 64MiB): ranged GETs of large objects; upload parts "
               "(raised to S3's 5 MiB minimum and to stay within 10,000 parts). Objects uploaded in parts "
               "(ETag …-N) keep their own parts")
        ->check(CLI::Range(uint64_t{64} << 10, uint64_t{5} << 30).description(""))
        ->default_str("16MiB");
    SizeOption(cmd, "--multipart-threshold", multipart_threshold,
               "objects larger than this go in parts (default: the part size if given, else 64 MiB for downloads "
               "and 16 MiB for uploads and streamed copies; server-side copies: 5 GiB)");
    SizeOption(cmd, "--memory-limit", memory_limit,
               "cap on riptide's own memory, 32MiB to 1TiB: downloads lower --concurrency to fit; copies "
               "and uploads hold part bodies in a quarter of it")
        ->check(CLI::Range(uint64_t{32} << 20, uint64_t{1} << 40).description(""))
        ->default_str("256MiB");
    cmd->add_option("--page-size", page_size, "keys per listing request (max-keys)")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    ListConcurrencyOption(cmd, list_concurrency);
    cmd->add_option("--bwlimit", bwlimit,
                    "RATE: bytes per second for all transfers together: 10M; UP:DOWN as rclone writes it (1M:10M, "
                    "off for either); or a schedule by local time, \"08:00,512K:10M 19:00,off\"");
    cmd->add_option("--copy-mode", copy_mode,
                    "bucket to bucket: server-side (the server copies; one endpoint and one set of credentials), "
                    "streamed (ranged GETs piped into uploads), or auto")
        ->check(CLI::IsMember({"auto", "server-side", "streamed"}))
        ->capture_default_str();
    cmd->add_flag("--no-progress", no_progress, "no live progress line, even on a terminal");
  });
}

void TransferFlags::ApplyTo(engine::JobSpec& spec) const {
  spec.concurrency = concurrency;
  spec.part_size = part_size;
  spec.multipart_threshold = multipart_threshold;
  spec.memory_limit = memory_limit;
  spec.page_size = page_size;
  spec.list_concurrency = list_concurrency;
  spec.copy_mode = copy_mode;
  spec.bwlimit = bwlimit;
}

CpCommand::CpCommand(CLI::App& app, GlobalOptions& global) : global_(global) {
  cmd_ = app.add_subcommand("cp", "Copy one object, one file, a prefix (SRC ending in /) or a directory into a "
                                  "bucket, or objects out of one into local files: everything named, no diff");
  cmd_->add_option("SRC", spec_.source,
                   "s3://BUCKET/KEY, s3://BUCKET/PREFIX/, REMOTE:BUCKET/…, a local file or a local directory")
      ->required();
  cmd_->add_option("DST", spec_.destination,
                   "s3://BUCKET/KEY or s3://BUCKET/PREFIX/ (or REMOTE:…): one object lands at KEY, or under "
                   "PREFIX/ by its base name; or a local FILE or DIR/ for a download (verified, renamed into "
                   "place whole, no manifest)")
      ->required();
  client_.Add(cmd_);
  transfer_.Add(cmd_);
  cmd_->add_flag("--dry-run", spec_.dry_run, "count what would be copied, copy nothing");
  InGroup(cmd_, "Selection", [&] {
    cmd_->add_option("--state-dir", spec_.state_dir,
                     "DIR: where the journal of open multipart uploads lives (default ~/.local/state/riptide)");
    cmd_->add_option_function<std::vector<std::string>>(
           "--include", [this](const std::vector<std::string>& v) {
             for (const auto& p : v) spec_.filters.emplace_back(true, p);
           },
           "GLOB: copy only keys (relative to the prefix) that match; the last matching rule wins")
        ->trigger_on_parse();
    cmd_->add_option_function<std::vector<std::string>>(
           "--exclude", [this](const std::vector<std::string>& v) {
             for (const auto& p : v) spec_.filters.emplace_back(false, p);
           },
           "GLOB: leave out keys that match")
        ->trigger_on_parse();
  });
  AddGlobalFlags(cmd_, global);
  cmd_->footer("Exit status: 0 all copied, 1 some objects failed (each listed), 2 usage, configuration,\n"
               "credential or bucket errors, 130/143 interrupted. To mirror a bucket into a directory again and again\n"
               "(only what changed, with a manifest), use `riptide sync s3://… DIR`.");
}

int CpCommand::Run() {
  spec_.compare = false;
  spec_.client = client_.spec();
  transfer_.ApplyTo(spec_);
  if (!engine::NamesBucket(spec_.destination)) {
    if (!engine::NamesBucket(spec_.source)) {
      PrintFatal("cp needs a bucket on one side (s3://… or REMOTE:…); between local folders use cp or rsync",
                 global_.json, 2);
      return 2;
    }
    return RunCpDownload(spec_, s3::LoadConfigSources(), transfer_.no_progress, global_);
  }
  return RunJobCommand(spec_, s3::LoadConfigSources(), transfer_.no_progress, global_);
}

}  // namespace riptide::app
