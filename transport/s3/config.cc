#include "transport/s3/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "transport/s3/ini.h"

extern char** environ;

namespace riptide::s3 {
namespace {

std::string Get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

std::string FirstOf(std::initializer_list<std::string> values) {
  for (const auto& v : values) {
    if (!v.empty()) return v;
  }
  return {};
}

}  // namespace

ConfigSources LoadConfigSources() {
  ConfigSources s;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) s.env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::string home = Get(s.env, "HOME");
  std::string creds_path = Get(s.env, "AWS_SHARED_CREDENTIALS_FILE");
  if (creds_path.empty() && !home.empty()) creds_path = home + "/.aws/credentials";
  std::string config_path = Get(s.env, "AWS_CONFIG_FILE");
  if (config_path.empty() && !home.empty()) config_path = home + "/.aws/config";
  if (!creds_path.empty()) s.credentials_file_found = ReadTextFile(creds_path, &s.credentials_text);
  if (!config_path.empty()) s.config_file_found = ReadTextFile(config_path, &s.config_text);
  return s;
}

namespace {

// The profile's sections of the two AWS files (~/.aws/config names profiles
// "[profile X]", except "[default]").
struct Profile {
  std::string name;
  bool named = false;        // by --profile or AWS_PROFILE: it must exist
  bool from_flag = false;    // by --profile: it wins over credentials in the environment
  std::map<std::string, std::string> creds, config;
};

Result<Profile> FindProfile(const ConfigFlags& flags, const ConfigSources& src) {
  Profile p;
  p.from_flag = !flags.profile.empty();
  p.named = p.from_flag || !Get(src.env, "AWS_PROFILE").empty();
  p.name = FirstOf({flags.profile, Get(src.env, "AWS_PROFILE"), "default"});
  IniFile creds_ini = ParseIni(src.credentials_text);
  IniFile config_ini = ParseIni(src.config_text);
  bool found = false;
  if (auto it = creds_ini.find(p.name); it != creds_ini.end()) {
    p.creds = it->second;
    found = true;
  }
  auto cit = config_ini.find(p.name == "default" ? "default" : "profile " + p.name);
  if (cit == config_ini.end()) cit = config_ini.find(p.name);
  if (cit != config_ini.end()) {
    p.config = cit->second;
    found = true;
  }
  if (p.named && !found) {
    return MakeError(ErrorCode::kCredentials,
                     "profile '" + p.name + "' is in neither the AWS credentials file nor the config file");
  }
  return p;
}

// Keys given with the job (a remote's), then an explicit --profile, then the
// environment, then the profile: as with the AWS CLI.
Result<Credentials> ResolveCredentials(const ConfigFlags& flags, const ConfigSources& src, const Profile& profile,
                                       const std::string& region, CredentialSource* temporary) {
  const auto& env = src.env;
  auto from_profile = [&](Credentials* c) {
    c->access_key_id = FirstOf({Get(profile.creds, "aws_access_key_id"), Get(profile.config, "aws_access_key_id")});
    c->secret_access_key =
        FirstOf({Get(profile.creds, "aws_secret_access_key"), Get(profile.config, "aws_secret_access_key")});
    c->session_token = FirstOf({Get(profile.creds, "aws_session_token"), Get(profile.config, "aws_session_token")});
  };
  Credentials c;
  if (!flags.credentials.access_key_id.empty() || !flags.credentials.secret_access_key.empty()) {
    c = flags.credentials;
  } else if (profile.from_flag) {
    from_profile(&c);
  } else if (!Get(env, "AWS_ACCESS_KEY_ID").empty() || !Get(env, "AWS_SECRET_ACCESS_KEY").empty()) {
    c.access_key_id = Get(env, "AWS_ACCESS_KEY_ID");
    c.secret_access_key = Get(env, "AWS_SECRET_ACCESS_KEY");
    c.session_token = Get(env, "AWS_SESSION_TOKEN");
  } else if (auto s = FindCredentialSource(env, {}, region); s.kind == CredentialSource::Kind::kWebIdentity) {
    *temporary = std::move(s);  // the environment's web identity beats the profile's keys
    return c;
  } else {
    from_profile(&c);
  }
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    std::map<std::string, std::string> sections = profile.creds;
    sections.insert(profile.config.begin(), profile.config.end());
    if (auto s = FindCredentialSource(env, sections, region); s.kind != CredentialSource::Kind::kNone) {
      *temporary = std::move(s);
      return c;
    }
    return MakeError(ErrorCode::kCredentials,
                     "no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a "
                     "profile with --profile, or use --no-sign-request for a public bucket");
  }
  if (c.access_key_id.empty()) {
    return MakeError(ErrorCode::kCredentials, "a secret access key is set but no access key id");
  }
  if (c.secret_access_key.empty()) {
    return MakeError(ErrorCode::kCredentials, "access key id '" + c.access_key_id + "' has no secret access key");
  }
  return c;
}

}  // namespace

Result<ClientConfig> ResolveClientConfig(const ConfigFlags& flags, const ConfigSources& src) {
  const auto& env = src.env;
  auto profile = FindProfile(flags, src);
  if (!profile.ok()) return profile.error();
  const auto& config_section = profile->config;
  ClientConfig cfg;
  cfg.region = FirstOf({flags.region, Get(env, "AWS_REGION"), Get(env, "AWS_DEFAULT_REGION"),
                        Get(config_section, "region"), Get(profile->creds, "region"), "us-east-1"});
  std::string endpoint = FirstOf({flags.endpoint, Get(env, "AWS_ENDPOINT_URL_S3"),
                                  Get(env, "AWS_ENDPOINT_URL"), Get(config_section, "s3.endpoint_url"),
                                  Get(config_section, "endpoint_url")});
  if (endpoint.empty()) endpoint = "https://s3." + cfg.region + ".amazonaws.com";
  auto ep = ParseEndpoint(endpoint);
  if (!ep.ok()) return ep.error();
  cfg.endpoint = *ep;
  cfg.addressing = flags.addressing;
  if (cfg.addressing == Addressing::kAuto) {
    std::string style = Get(config_section, "s3.addressing_style");
    if (style == "path") cfg.addressing = Addressing::kPath;
    if (style == "virtual") cfg.addressing = Addressing::kVirtualHost;
  }
  cfg.anonymous = flags.no_sign_request;
  if (cfg.anonymous) return cfg;
  auto credentials = ResolveCredentials(flags, src, *profile, cfg.region, &cfg.credential_source);
  if (!credentials.ok()) return credentials.error();
  cfg.credentials = std::move(*credentials);
  return cfg;
}

Status AttachCredentials(ClientConfig& config, const http::TransportFactory& transports) {
  const CredentialSource& source = config.credential_source;
  if (source.kind == CredentialSource::Kind::kNone || config.provider) return OkStatus();
  if (!transports && source.kind != CredentialSource::Kind::kProcess) {
    return MakeError(ErrorCode::kCredentials, "temporary credentials from " + source.Describe() +
                                                  " cannot be fetched here");
  }
  auto provider = RefreshingProvider(source.Describe(), FetchFor(source, transports));
  if (!provider.ok()) return provider.error();
  config.provider = std::move(*provider);
  return OkStatus();
}

bool ReadTextFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace riptide::s3
