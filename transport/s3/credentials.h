// Where a client's keys come from, kept current. Long-lived keys (flags, environment,
// profile) are used as they are; temporary ones (STS web identity, container
// credentials, EC2 instance metadata, a profile's credential_process) are fetched again
// on the provider's own thread before they expire, so signing never waits on the network.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "transport/http/transport.h"
#include "transport/result.h"
#include "transport/s3/sigv4.h"

namespace riptide::s3 {

/// Keys and when they stop working (ms since the epoch; 0: never).
struct ExpiringCredentials {
  Credentials keys;
  int64_t expires_ms = 0;
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  /// The keys to sign with now. Thread-safe; never waits on the network.
  virtual Credentials Current() const = 0;
  /// A server said the keys expired (ExpiredToken): fetch new ones now, on the
  /// provider's thread, and return once they are in (at most 10 s). A refresh that ended
  /// in the last second counts: a burst of ExpiredToken answers makes one fetch.
  virtual void Expired() {}
};

/// One exchange with a credentials service.
using CredentialsFetch = std::function<Result<ExpiringCredentials>()>;

/// Fetches once now (an error is returned: nothing can be signed), then again on a thread
/// of its own when the keys come within min(5 min, half their lifetime) of expiring; a
/// failed refresh is tried again every second while the old keys last. `what` names the
/// source in errors ("web identity (STS)").
Result<std::shared_ptr<CredentialsProvider>> RefreshingProvider(std::string what, CredentialsFetch fetch);

/// Where temporary credentials come from, as the environment and the profile say.
struct CredentialSource {
  enum class Kind { kNone, kWebIdentity, kContainer, kInstanceMetadata, kProcess };
  Kind kind = Kind::kNone;
  std::string endpoint;         // STS, the container endpoint's URL, or the metadata service
  std::string role_arn;         // web identity
  std::string session_name;     // web identity
  std::string token_file;       // web identity token; container authorization token file
  std::string auth_token;       // container authorization token
  std::string command;          // credential_process
  std::string Describe() const;
};

/// The first temporary-credentials source the environment or the profile names
/// (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, a profile's web_identity_token_file,
/// credential_process, AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, then the EC2
/// metadata service when AWS_EC2_METADATA_SERVICE_ENDPOINT is set or the profile says
/// credential_source = Ec2InstanceMetadata). kNone when none does.
CredentialSource FindCredentialSource(const std::map<std::string, std::string>& env,
                                      const std::map<std::string, std::string>& profile, const std::string& region);

/// The exchange for a source, through a transport `transports` makes.
CredentialsFetch FetchFor(const CredentialSource& source, const http::TransportFactory& transports);

/// {"AccessKeyId", "SecretAccessKey", "Token" or "SessionToken", "Expiration"}: what
/// container endpoints, the metadata service and credential_process print.
Result<ExpiringCredentials> ParseCredentialsJson(std::string_view body);

}  // namespace riptide::s3
