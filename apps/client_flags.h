// The flags every command that talks to a bucket shares: where, who, how to connect.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "engine/core/retry.h"
#include "transport/http/transport.h"
#include "transport/result.h"
#include "transport/s3/config.h"
#include "transport/s3/remotes.h"
#include "transport/s3/requests.h"

namespace riptide::app {

class ClientFlags {
 public:
  /// Adds --endpoint, --region, --profile, addressing, TLS, retry and timeout flags.
  void Add(CLI::App* cmd);

  /// When `*source` names a remote ("NAME:bucket/prefix"), loads it from --config or
  /// --rclone-config and rewrites `*source` to its s3:// URL; other sources pass.
  Status UseRemote(std::string* source, const s3::ConfigSources& sources);

  /// Resolves the client from these flags, the remote (if any), the environment and the
  /// AWS files, in that order.
  Result<s3::ClientConfig> Resolve(const s3::ConfigSources& sources) const;
  /// Timeouts, TLS and connection limits for `connections` requests in flight.
  http::TransportOptions Transport(const s3::ConfigSources& sources, int connections) const;
  engine::RetryPolicy Retry() const;

 private:
  std::string endpoint_;
  std::string region_;
  std::string profile_;
  std::string ca_bundle_;
  bool path_style_ = false;
  bool virtual_host_ = false;
  bool no_sign_request_ = false;
  bool no_verify_ssl_ = false;
  int retries_ = 5;
  int connect_timeout_s_ = 10;
  int stall_timeout_s_ = 60;
  std::string config_file_;
  std::string rclone_config_file_;
  std::optional<s3::Remote> remote_;
};

}  // namespace riptide::app
