#include "transport/s3/remotes.h"

#include "transport/s3/ini.h"
#include "transport/strings.h"

namespace riptide::s3 {
namespace {

using Section = std::map<std::string, std::string>;

std::string Get(const Section& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? std::string() : it->second;
}

bool IsTrue(const std::string& v) {
  const std::string l = AsciiLower(v);
  return l == "true" || l == "yes" || l == "1" || l == "on";
}

Result<Addressing> AddressingFrom(const std::string& path_style, const std::string& where) {
  if (path_style.empty()) return Addressing::kAuto;
  const std::string l = AsciiLower(path_style);
  if (l == "path" || IsTrue(l)) return Addressing::kPath;
  if (l == "virtual" || l == "false" || l == "no" || l == "0" || l == "off") return Addressing::kVirtualHost;
  return MakeError(ErrorCode::kInvalidArgument, where + ": '" + path_style + "' is not an addressing style");
}

// riptide.conf: endpoint, region, profile, addressing, access_key_id, secret_access_key
// (or *_env naming a variable), session_token, ca_bundle, no_verify_ssl.
Result<Remote> FromRiptide(const std::string& name, const Section& s, const std::map<std::string, std::string>& env) {
  Remote r;
  r.name = name;
  r.from = "riptide.conf";
  const std::string where = "riptide.conf [" + name + "]";
  r.flags.endpoint = Get(s, "endpoint");
  r.flags.region = Get(s, "region");
  r.flags.profile = Get(s, "profile");
  auto addressing = AddressingFrom(Get(s, "addressing"), where + " addressing");
  if (!addressing.ok()) return addressing.error();
  r.flags.addressing = *addressing;
  r.flags.no_sign_request = IsTrue(Get(s, "no_sign_request"));
  auto secret = [&](const std::string& key) -> Result<std::string> {
    const std::string var = Get(s, key + "_env");
    if (var.empty()) return Get(s, key);
    auto it = env.find(var);
    if (it == env.end() || it->second.empty()) {
      return MakeError(ErrorCode::kCredentials, where + " " + key + "_env names " + var + ", which is not set");
    }
    return it->second;
  };
  for (auto [key, out] : {std::pair{"access_key_id", &r.credentials.access_key_id},
                          std::pair{"secret_access_key", &r.credentials.secret_access_key},
                          std::pair{"session_token", &r.credentials.session_token}}) {
    auto v = secret(key);
    if (!v.ok()) return v.error();
    *out = std::move(*v);
  }
  r.ca_bundle = Get(s, "ca_bundle");
  r.verify_tls = !IsTrue(Get(s, "no_verify_ssl"));
  return r;
}

// rclone.conf S3 remotes: type = s3, provider, env_auth, access_key_id,
// secret_access_key, session_token, region, endpoint, force_path_style.
Result<Remote> FromRclone(const std::string& name, const Section& s) {
  const std::string where = "rclone.conf [" + name + "]";
  if (AsciiLower(Get(s, "type")) != "s3") {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + " is a '" + Get(s, "type") + "' remote: riptide reads S3 remotes only");
  }
  Remote r;
  r.name = name;
  r.from = "rclone.conf";
  r.flags.endpoint = Get(s, "endpoint");
  // rclone takes endpoints without a scheme ("s3.eu-de.cloud-object-storage…") as HTTPS.
  if (!r.flags.endpoint.empty() && r.flags.endpoint.find("://") == std::string::npos) {
    r.flags.endpoint = "https://" + r.flags.endpoint;
  }
  r.flags.region = Get(s, "region");
  // rclone addresses buckets path-style unless told otherwise (and AWS virtual-host).
  const std::string provider = AsciiLower(Get(s, "provider"));
  const std::string path_style = Get(s, "force_path_style");
  auto addressing = AddressingFrom(path_style.empty() ? (provider == "aws" ? "virtual" : "path") : path_style,
                                   where + " force_path_style");
  if (!addressing.ok()) return addressing.error();
  r.flags.addressing = *addressing;
  if (!IsTrue(Get(s, "env_auth"))) {
    r.credentials.access_key_id = Get(s, "access_key_id");
    r.credentials.secret_access_key = Get(s, "secret_access_key");
    r.credentials.session_token = Get(s, "session_token");
    if (r.credentials.access_key_id.empty() && r.credentials.secret_access_key.empty()) {
      r.flags.no_sign_request = true;  // rclone: no keys and no env_auth is anonymous
    }
  }
  return r;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> SplitRemoteUrl(std::string_view arg) {
  const size_t colon = arg.find(':');
  if (colon == 0 || colon == std::string_view::npos || arg.substr(colon, 3) == "://") return std::nullopt;
  for (char c : arg.substr(0, colon)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ' ')) {
      return std::nullopt;
    }
  }
  return std::make_pair(std::string(arg.substr(0, colon)), "s3://" + std::string(arg.substr(colon + 1)));
}

Result<Remote> FindRemote(const std::string& name, std::string_view riptide_conf, std::string_view rclone_conf,
                          const std::map<std::string, std::string>& env) {
  IniFile own = ParseIni(riptide_conf);
  if (auto it = own.find(name); it != own.end()) return FromRiptide(name, it->second, env);
  IniFile rclone = ParseIni(rclone_conf);
  if (auto it = rclone.find(name); it != rclone.end()) return FromRclone(name, it->second);
  return MakeError(ErrorCode::kInvalidArgument,
                   "no remote named '" + name + "' in riptide.conf (--config) or rclone.conf (--rclone-config)");
}

}  // namespace riptide::s3
