// Where an S3 client's settings come from: flags > environment > AWS shared
// config/credentials profiles > defaults. Resolution is pure; loading reads the files.
#pragma once

#include <map>
#include <string>

#include "transport/result.h"
#include "transport/s3/requests.h"

namespace riptide::s3 {

/// What the command line said; empty strings were not given.
struct ConfigFlags {
  std::string endpoint;
  std::string region;
  std::string profile;
  Addressing addressing = Addressing::kAuto;  // --path-style / --virtual-host
  bool no_sign_request = false;
  Credentials credentials;  // a named remote's own keys: they win over the environment
};

/// The environment and the two AWS files' text, gathered once.
struct ConfigSources {
  std::map<std::string, std::string> env;
  std::string credentials_text;  // ~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE
  std::string config_text;       // ~/.aws/config or AWS_CONFIG_FILE
  bool credentials_file_found = false;
  bool config_file_found = false;
};

/// Reads the process environment and the AWS files it points at (missing files are fine).
ConfigSources LoadConfigSources();

/// The whole file at `path` into `out`; false when it cannot be read.
bool ReadTextFile(const std::string& path, std::string* out);

/// Resolves the client configuration; errors name what to set. When the keys are to come
/// from a temporary-credentials source, `credential_source` names it (AttachCredentials).
Result<ClientConfig> ResolveClientConfig(const ConfigFlags& flags, const ConfigSources& sources);

/// Gets the first temporary credentials from `config.credential_source` (if it names
/// one) through `transports`, and keeps them current from then on.
Status AttachCredentials(ClientConfig& config, const http::TransportFactory& transports);

}  // namespace riptide::s3
