#include "engine/config/client_spec.h"

#include <spdlog/spdlog.h>

#include <mutex>

#include "transport/s3/uri.h"

namespace riptide::engine {

Status ClientResolver::UseRemote(std::string* source) {
  auto split = s3::SplitRemoteUrl(*source);
  if (!split) return OkStatus();
  auto env = [&](const char* name) {
    auto it = sources_.env.find(name);
    return it == sources_.env.end() ? std::string() : it->second;
  };
  // A file named on the command line must be readable; the default may be missing.
  auto read = [](const std::string& path, bool required, std::string* text) -> Status {
    if (path.empty() || s3::ReadTextFile(path, text) || !required) return OkStatus();
    return MakeError(ErrorCode::kInvalidArgument, "cannot read the config file " + path);
  };
  std::string own_text, rclone_text;
  std::string own = spec_.config_file;
  if (own.empty() && !env("XDG_CONFIG_HOME").empty()) own = env("XDG_CONFIG_HOME") + "/riptide/riptide.conf";
  if (own.empty() && !env("HOME").empty()) own = env("HOME") + "/.config/riptide/riptide.conf";
  if (Status st = read(own, !spec_.config_file.empty(), &own_text); !st.ok()) return st;
  const std::string rclone = spec_.rclone_config_file.empty() ? env("RCLONE_CONFIG") : spec_.rclone_config_file;
  if (Status st = read(rclone, true, &rclone_text); !st.ok()) return st;
  auto remote = s3::FindRemote(split->first, own_text, rclone_text, sources_.env);
  if (!remote.ok()) return remote.error();
  remote_ = std::move(*remote);
  *source = split->second;
  return OkStatus();
}

namespace {

// One line per process, however many jobs or sides resolve the same way.
void WarnOnce(std::once_flag& flag, const std::string& message) {
  std::call_once(flag, [&] { spdlog::warn("{}", message); });
}

std::once_flag g_plain_http_warned, g_no_verify_warned;

}  // namespace

Result<s3::ClientConfig> ClientResolver::Client() const {
  // What the command line says wins over the remote's settings.
  s3::ConfigFlags flags = remote_ ? remote_->flags : s3::ConfigFlags{};
  if (remote_) flags.credentials = remote_->credentials;
  if (!spec_.endpoint.empty()) flags.endpoint = spec_.endpoint;
  if (!spec_.region.empty()) flags.region = spec_.region;
  if (!spec_.profile.empty()) {
    flags.profile = spec_.profile;
    flags.credentials = {};
  }
  flags.no_sign_request = flags.no_sign_request || spec_.no_sign_request;
  if (spec_.path_style) flags.addressing = s3::Addressing::kPath;
  if (spec_.virtual_host) flags.addressing = s3::Addressing::kVirtualHost;
  auto config = s3::ResolveClientConfig(flags, sources_);
  if (!config.ok()) return config.error();
  if (Status st = s3::AttachCredentials(*config, transports_); !st.ok()) return st.error();
  if (!config->anonymous && config->endpoint.scheme == "http" && !s3::IsLoopbackHost(config->endpoint.host)) {
    WarnOnce(g_plain_http_warned, "the endpoint http://" + config->endpoint.Authority() +
                                      " has no TLS: requests are signed, but the objects and any session token "
                                      "travel in clear (use https)");
  }
  return config;
}

http::TransportOptions ClientResolver::Transport(int connections) const {
  http::TransportOptions t;
  t.max_total_connections = connections;
  t.connect_timeout_ms = spec_.connect_timeout_s * 1000L;
  t.low_speed_time_s = spec_.stall_timeout_s;
  t.prompt_timeout_s = 5L * spec_.stall_timeout_s;  // a listing page or HEAD, start to end
  t.verify_tls = !spec_.no_verify_ssl && (!remote_ || remote_->verify_tls);
  if (!t.verify_tls) {
    WarnOnce(g_no_verify_warned, "TLS certificates are not verified (--no-verify-ssl): whoever sits between "
                                 "riptide and the server can read and answer in its place");
  }
  t.ca_bundle = !spec_.ca_bundle.empty() ? spec_.ca_bundle : remote_ ? remote_->ca_bundle : std::string();
  if (t.ca_bundle.empty()) {
    if (auto it = sources_.env.find("AWS_CA_BUNDLE"); it != sources_.env.end()) t.ca_bundle = it->second;
  }
  return t;
}

RetryPolicy ClientResolver::Retry() const {
  RetryPolicy r;
  r.max_attempts = spec_.retries + 1;
  return r;
}

Result<BucketSide> ClientResolver::Side(const std::string& arg, int connections) const {
  ClientResolver resolver = *this;  // a remote applies to this side only
  std::string url_text = arg;
  if (Status st = resolver.UseRemote(&url_text); !st.ok()) return st.error();
  auto url = s3::ParseS3Url(url_text);
  if (!url.ok()) return url.error();
  auto client = resolver.Client();
  if (!client.ok()) return client.error();
  BucketSide side;
  side.client = std::move(*client);
  side.transport = resolver.Transport(connections);
  side.bucket = url->bucket;
  side.prefix = url->prefix;
  return side;
}

std::string DefaultCopyStateDir(const std::string& state_dir, const s3::ConfigSources& sources) {
  if (!state_dir.empty()) return state_dir;
  auto env = [&](const char* name) {
    auto it = sources.env.find(name);
    return it == sources.env.end() ? std::string() : it->second;
  };
  if (!env("XDG_STATE_HOME").empty()) return env("XDG_STATE_HOME") + "/riptide";
  if (!env("HOME").empty()) return env("HOME") + "/.local/state/riptide";
  return {};
}

bool NamesBucket(const std::string& arg) { return s3::LooksLikeS3Url(arg) || s3::SplitRemoteUrl(arg).has_value(); }

}  // namespace riptide::engine
