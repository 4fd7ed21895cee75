#include "apps/client_flags.h"

namespace riptide::app {

void ClientFlags::Add(CLI::App* cmd) {
  cmd->add_option("--endpoint", endpoint_,
                  "S3 endpoint URL, e.g. http://127.0.0.1:9000 (env AWS_ENDPOINT_URL; default AWS for the region)");
  cmd->add_option("--region", region_, "signing region (env AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)");
  cmd->add_option("--profile", profile_, "profile in ~/.aws/credentials and ~/.aws/config (env AWS_PROFILE)");
  auto* path = cmd->add_flag("--path-style", path_style_,
                             "address buckets as ENDPOINT/BUCKET (default for IP and localhost endpoints)");
  cmd->add_flag("--virtual-host", virtual_host_, "address buckets as BUCKET.ENDPOINT")->excludes(path);
  cmd->add_flag("--no-sign-request", no_sign_request_, "send anonymous requests (public buckets)");
  cmd->add_option("--retries", retries_, "retries of a failed request or a mismatched object")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_option("--connect-timeout", connect_timeout_s_, "seconds to wait for a connection")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--stall-timeout", stall_timeout_s_, "seconds without a byte before a request is retried")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--ca-bundle", ca_bundle_, "PEM file of CAs to trust for HTTPS (env AWS_CA_BUNDLE)");
  cmd->add_flag("--no-verify-ssl", no_verify_ssl_, "do not verify TLS certificates (unsafe)");
  cmd->add_option("--config", config_file_,
                  "riptide.conf naming remotes for NAME:bucket/prefix (default ~/.config/riptide/riptide.conf)");
  cmd->add_option("--rclone-config", rclone_config_file_,
                  "an rclone.conf whose S3 remotes NAME:bucket/prefix may name (env RCLONE_CONFIG)");
}

Status ClientFlags::UseRemote(std::string* source, const s3::ConfigSources& sources) {
  auto split = s3::SplitRemoteUrl(*source);
  if (!split) return OkStatus();
  auto env = [&](const char* name) {
    auto it = sources.env.find(name);
    return it == sources.env.end() ? std::string() : it->second;
  };
  // A file named on the command line must be readable; the default may be missing.
  auto read = [](const std::string& path, bool required, std::string* text) -> Status {
    if (path.empty() || s3::ReadTextFile(path, text) || !required) return OkStatus();
    return MakeError(ErrorCode::kInvalidArgument, "cannot read the config file " + path);
  };
  std::string own_text, rclone_text;
  std::string own = config_file_;
  if (own.empty() && !env("XDG_CONFIG_HOME").empty()) own = env("XDG_CONFIG_HOME") + "/riptide/riptide.conf";
  if (own.empty() && !env("HOME").empty()) own = env("HOME") + "/.config/riptide/riptide.conf";
  if (Status st = read(own, !config_file_.empty(), &own_text); !st.ok()) return st;
  const std::string rclone = rclone_config_file_.empty() ? env("RCLONE_CONFIG") : rclone_config_file_;
  if (Status st = read(rclone, true, &rclone_text); !st.ok()) return st;
  auto remote = s3::FindRemote(split->first, own_text, rclone_text, sources.env);
  if (!remote.ok()) return remote.error();
  remote_ = std::move(*remote);
  *source = split->second;
  return OkStatus();
}

Result<s3::ClientConfig> ClientFlags::Resolve(const s3::ConfigSources& sources) const {
  // What the command line says wins over the remote's settings.
  s3::ConfigFlags flags = remote_ ? remote_->flags : s3::ConfigFlags{};
  if (remote_) flags.credentials = remote_->credentials;
  if (!endpoint_.empty()) flags.endpoint = endpoint_;
  if (!region_.empty()) flags.region = region_;
  if (!profile_.empty()) {
    flags.profile = profile_;
    flags.credentials = {};
  }
  flags.no_sign_request = flags.no_sign_request || no_sign_request_;
  if (path_style_) flags.addressing = s3::Addressing::kPath;
  if (virtual_host_) flags.addressing = s3::Addressing::kVirtualHost;
  return s3::ResolveClientConfig(flags, sources);
}

http::TransportOptions ClientFlags::Transport(const s3::ConfigSources& sources, int connections) const {
  http::TransportOptions t;
  t.max_total_connections = connections;
  t.connect_timeout_ms = connect_timeout_s_ * 1000L;
  t.low_speed_time_s = stall_timeout_s_;
  t.verify_tls = !no_verify_ssl_ && (!remote_ || remote_->verify_tls);
  t.ca_bundle = !ca_bundle_.empty() ? ca_bundle_ : remote_ ? remote_->ca_bundle : std::string();
  if (t.ca_bundle.empty()) {
    if (auto it = sources.env.find("AWS_CA_BUNDLE"); it != sources.env.end()) t.ca_bundle = it->second;
  }
  return t;
}

engine::RetryPolicy ClientFlags::Retry() const {
  engine::RetryPolicy r;
  r.max_attempts = retries_ + 1;
  return r;
}

}  // namespace riptide::app
