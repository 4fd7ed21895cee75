// How to reach a bucket, as a user states it (flags, a service's YAML, a remote's
// section), and its resolution: flags > remote > environment > AWS files > defaults.
#pragma once

#include <optional>
#include <string>

#include "engine/core/retry.h"
#include "transport/http/transport.h"
#include "transport/result.h"
#include "transport/s3/config.h"
#include "transport/s3/remotes.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// Endpoint, credentials and connection settings; empty strings were not given.
struct ClientSpec {
  std::string endpoint;
  std::string region;
  std::string profile;
  std::string ca_bundle;
  bool path_style = false;
  bool virtual_host = false;
  bool no_sign_request = false;
  bool no_verify_ssl = false;
  int retries = 5;              // of a failed request or a mismatched object
  int connect_timeout_s = 10;
  int stall_timeout_s = 60;     // seconds without a byte before a request is retried
  std::string config_file;         // riptide.conf (default ~/.config/riptide/riptide.conf)
  std::string rclone_config_file;  // an rclone.conf (default $RCLONE_CONFIG)
};

/// One bucket and a prefix in it, on one endpoint with one set of credentials.
struct BucketSide {
  s3::ClientConfig client;
  http::TransportOptions transport;
  std::string bucket;
  std::string prefix;  // "" or ending in '/' (a folder), or a whole key for one object
};

/// A client spec with the remote an argument named ("NAME:bucket/prefix") applied.
class ClientResolver {
 public:
  /// `transports` fetches temporary credentials (web identity, container, instance
  /// metadata); without it only long-lived keys and credential_process resolve.
  ClientResolver(ClientSpec spec, const s3::ConfigSources& sources, http::TransportFactory transports = nullptr)
      : spec_(std::move(spec)), sources_(sources), transports_(std::move(transports)) {}

  /// When `*arg` names a remote, loads it from the riptide.conf or rclone.conf and
  /// rewrites `*arg` to its s3:// URL; other arguments pass unchanged.
  Status UseRemote(std::string* arg);
  /// The client from the spec, the remote (if any), the environment and the AWS files;
  /// temporary credentials are fetched now and kept current from then on.
  Result<s3::ClientConfig> Client() const;
  /// Timeouts, TLS and connection limits for `connections` requests in flight.
  http::TransportOptions Transport(int connections) const;
  /// The retry policy; with temporary credentials, an ExpiredToken answer refreshes them.
  RetryPolicy Retry() const;

  /// `arg` (s3://… or NAME:bucket/…) resolved into a bucket side.
  Result<BucketSide> Side(const std::string& arg, int connections) const;

 private:
  ClientSpec spec_;
  const s3::ConfigSources& sources_;
  http::TransportFactory transports_;
  std::optional<s3::Remote> remote_;
};

/// Where copies into buckets keep their state: `state_dir` when given, else
/// $XDG_STATE_HOME/riptide or ~/.local/state/riptide ("" when neither is set).
std::string DefaultCopyStateDir(const std::string& state_dir, const s3::ConfigSources& sources);

/// True when `arg` names a bucket (s3://… or a remote's NAME:bucket/…), not a local path.
bool NamesBucket(const std::string& arg);

}  // namespace riptide::engine
