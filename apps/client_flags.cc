#include "apps/client_flags.h"

#include <cstdlib>

#include "engine/config/job_spec.h"

namespace riptide::app {

void ClientFlags::Add(CLI::App* cmd) {
  InGroup(cmd, "Connection", [&] {
    cmd->add_option("--endpoint", spec_.endpoint,
                    "URL: the S3 endpoint, e.g. http://127.0.0.1:9000 (env AWS_ENDPOINT_URL; default AWS for the region)");
    cmd->add_option("--region", spec_.region, "REGION: signing region (env AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)");
    cmd->add_option("--profile", spec_.profile, "NAME: profile in ~/.aws/credentials and ~/.aws/config (env AWS_PROFILE)");
    auto* path = cmd->add_flag("--path-style", spec_.path_style,
                               "address buckets as ENDPOINT/BUCKET (default for IP and localhost endpoints)");
    cmd->add_flag("--virtual-host", spec_.virtual_host, "address buckets as BUCKET.ENDPOINT")->excludes(path);
    cmd->add_flag("--no-sign-request", spec_.no_sign_request, "send anonymous requests (public buckets)");
    cmd->add_option("--retries", spec_.retries, "retries of a failed request or a mismatched object")
        ->check(CLI::Range(0, 100))
        ->capture_default_str();
    cmd->add_option("--connect-timeout", spec_.connect_timeout_s, "seconds to wait for a connection")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    cmd->add_option("--stall-timeout", spec_.stall_timeout_s,
                    "seconds without a byte before a request is retried (a listing page or HEAD gets 5x that in all)")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    cmd->add_option("--ca-bundle", spec_.ca_bundle, "FILE: PEM file of CAs to trust for HTTPS (env AWS_CA_BUNDLE)");
    cmd->add_flag("--no-verify-ssl", spec_.no_verify_ssl, "do not verify TLS certificates (unsafe)");
    cmd->add_option("--config", spec_.config_file,
                    "FILE: riptide.conf naming remotes for NAME:bucket/prefix (default ~/.config/riptide/riptide.conf)");
    cmd->add_option("--rclone-config", spec_.rclone_config_file,
                    "FILE: an rclone.conf whose S3 remotes NAME:bucket/prefix may name (env RCLONE_CONFIG)");
  });
}

CLI::Option* ConcurrencyOption(CLI::App* cmd, int& value) {
  // "auto" reads as kAutoConcurrency; a number is a fixed count.
  CLI::Validator auto_or_count(
      [](std::string& text) -> std::string {
        if (text == "auto") {
          text = std::to_string(engine::kAutoConcurrency);
          return {};
        }
        char* end = nullptr;
        const long n = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end || n < 1 || n > 4096) return "must be auto or a whole number from 1 to 4096";
        return {};
      },
      "", "");
  return cmd
      ->add_option("--concurrency", value,
                   "requests in flight: a number, exactly that many; auto: start low and find the most that "
                   "still pays while the run goes (backs off on SlowDown, timeouts and latency)")
      ->type_name("N|auto")
      ->transform(auto_or_count)
      ->default_str("auto");
}

CLI::Option* ListConcurrencyOption(CLI::App* cmd, int& value) {
  return cmd
      ->add_option(
          "--list-concurrency", value,
          "key ranges of one listing fetched at once (1: one page after another); ranges split "
          "as they go, pages still come in key order")
      ->type_name("N")
      ->check(CLI::Range(1, 256).description(""))
      ->capture_default_str();
}

}  // namespace riptide::app
