// Named remotes: `NAME:bucket/prefix` resolved through riptide's own config file
// (~/.config/riptide/riptide.conf) or an rclone.conf, read as rclone writes it, so a
// team's existing [source] / [destination] remotes work unchanged. Pure: callers read
// the files.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "transport/result.h"
#include "transport/s3/config.h"
#include "transport/s3/sigv4.h"

namespace riptide::s3 {

struct Remote {
  std::string name;
  std::string from;          // "riptide.conf" or "rclone.conf", for messages
  ConfigFlags flags;         // endpoint, region, profile, addressing
  Credentials credentials;   // empty: the usual chain (environment, profiles)
  std::string ca_bundle;
  bool verify_tls = true;
};

/// "NAME:bucket/prefix" → (NAME, "s3://bucket/prefix"); nullopt for anything else
/// (s3:// URLs, local paths). NAME is letters, digits, '_', '-', '.' and ' '.
std::optional<std::pair<std::string, std::string>> SplitRemoteUrl(std::string_view arg);

/// The remote called `name`: riptide.conf first, then rclone.conf. Secrets may be named
/// indirectly (`secret_access_key_env = VAR`). Errors name the file and the key.
Result<Remote> FindRemote(const std::string& name, std::string_view riptide_conf, std::string_view rclone_conf,
                          const std::map<std::string, std::string>& env);

}  // namespace riptide::s3
