// The temporary-credentials sources of the AWS SDKs' default chain, and the one exchange
// each needs: STS AssumeRoleWithWebIdentity (Kubernetes IRSA), the container credentials
// endpoint (ECS, EKS Pod Identity), the EC2 instance metadata service (IMDSv2), and a
// profile's credential_process.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "transport/http/fetch.h"
#include "transport/s3/credentials.h"
#include "transport/s3/uri.h"
#include "transport/s3/xml.h"

namespace riptide::s3 {
namespace {

std::string Get(const std::map<std::string, std::string>& m, const char* name) {
  auto it = m.find(name);
  return it == m.end() ? std::string() : it->second;
}

// Tokens rotate on disk (Kubernetes rewrites the projected token): read at each fetch.
Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kCredentials, "cannot read the token file " + path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string token = s.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

// A 2xx answer's body, or an error naming the service (never echoing a token).
Result<std::string> Exchange(http::Transport& transport, http::Request request, const std::string& what) {
  auto r = http::Fetch(transport, std::move(request));
  if (!r.ok()) return r.error();
  if (r->status < 200 || r->status > 299) {
    return MakeError(ErrorCode::kCredentials, what + " answered HTTP " + std::to_string(r->status),
                     r->status >= 500 || r->status == 429);
  }
  return std::move(r->body);
}

Result<ExpiringCredentials> WebIdentity(http::Transport& t, const CredentialSource& s) {
  auto token = ReadToken(s.token_file);
  if (!token.ok()) return token.error();
  http::Request r;
  r.method = "POST";
  r.url = s.endpoint + "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  r.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + UriEncode(s.role_arn, false) +
           "&RoleSessionName=" + UriEncode(s.session_name, false) + "&WebIdentityToken=" + UriEncode(*token, false);
  auto body = Exchange(t, std::move(r), "STS");
  if (!body.ok()) return body.error();
  return ParseAssumeRoleWithWebIdentity(*body);
}

Result<ExpiringCredentials> Container(http::Transport& t, const CredentialSource& s) {
  http::Request r;
  r.url = s.endpoint;
  std::string auth = s.auth_token;
  if (!s.token_file.empty()) {
    auto token = ReadToken(s.token_file);
    if (!token.ok()) return token.error();
    auth = *token;
  }
  if (!auth.empty()) r.headers = {{"Authorization", auth}};
  auto body = Exchange(t, std::move(r), "the container credentials endpoint");
  if (!body.ok()) return body.error();
  return ParseCredentialsJson(*body);
}

// IMDSv2: a session token first, then the role's name, then its credentials.
Result<ExpiringCredentials> InstanceMetadata(http::Transport& t, const CredentialSource& s) {
  http::Request token_req;
  token_req.method = "PUT";
  token_req.url = s.endpoint + "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  auto token = Exchange(t, std::move(token_req), "the instance metadata service");
  if (!token.ok()) return token.error();
  const std::string base = s.endpoint + "/latest/meta-data/iam/security-credentials/";
  http::Request role_req;
  role_req.url = base;
  role_req.headers = {{"X-aws-ec2-metadata-token", *token}};
  auto role = Exchange(t, role_req, "the instance metadata service");
  if (!role.ok()) return role.error();
  std::string name = role->substr(0, role->find('\n'));
  if (name.empty()) return MakeError(ErrorCode::kCredentials, "the instance has no IAM role");
  role_req.url = base + UriEncode(name, false);
  auto body = Exchange(t, std::move(role_req), "the instance metadata service");
  if (!body.ok()) return body.error();
  return ParseCredentialsJson(*body);
}

Result<ExpiringCredentials> Process(const CredentialSource& s) {
  std::FILE* p = ::popen(s.command.c_str(), "r");
  if (!p) return MakeError(ErrorCode::kCredentials, "cannot run credential_process");
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0 && out.size() < (1u << 20);) out.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) return MakeError(ErrorCode::kCredentials, "credential_process exited with status " + std::to_string(status));
  return ParseCredentialsJson(out);
}

}  // namespace

CredentialSource FindCredentialSource(const std::map<std::string, std::string>& env,
                                      const std::map<std::string, std::string>& profile, const std::string& region) {
  CredentialSource s;
  const std::string token_file = !Get(env, "AWS_WEB_IDENTITY_TOKEN_FILE").empty()
                                     ? Get(env, "AWS_WEB_IDENTITY_TOKEN_FILE")
                                     : Get(profile, "web_identity_token_file");
  const std::string role = !Get(env, "AWS_ROLE_ARN").empty() ? Get(env, "AWS_ROLE_ARN") : Get(profile, "role_arn");
  if (!token_file.empty() && !role.empty()) {
    s.kind = CredentialSource::Kind::kWebIdentity;
    s.token_file = token_file;
    s.role_arn = role;
    s.session_name = !Get(env, "AWS_ROLE_SESSION_NAME").empty() ? Get(env, "AWS_ROLE_SESSION_NAME")
                     : !Get(profile, "role_session_name").empty() ? Get(profile, "role_session_name")
                                                                 : "riptide";
    s.endpoint = !Get(env, "AWS_ENDPOINT_URL_STS").empty() ? Get(env, "AWS_ENDPOINT_URL_STS")
                                                           : "https://sts." + region + ".amazonaws.com";
  } else if (!Get(profile, "credential_process").empty()) {
    s.kind = CredentialSource::Kind::kProcess;
    s.command = Get(profile, "credential_process");
  } else if (!Get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI").empty() ||
             !Get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty()) {
    s.kind = CredentialSource::Kind::kContainer;
    s.endpoint = !Get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI").empty()
                     ? Get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
                     : "http://169.254.170.2" + Get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    s.auth_token = Get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    s.token_file = Get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  } else if (Get(env, "AWS_EC2_METADATA_DISABLED") != "true" &&
             (!Get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").empty() ||
              Get(profile, "credential_source") == "Ec2InstanceMetadata")) {
    // Asked for, never guessed: a machine off EC2 must not wait on a link-local address.
    s.kind = CredentialSource::Kind::kInstanceMetadata;
    s.endpoint = !Get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").empty() ? Get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
                                                                        : "http://169.254.169.254";
  }
  while (!s.endpoint.empty() && s.endpoint.back() == '/' && s.kind != CredentialSource::Kind::kContainer) {
    s.endpoint.pop_back();
  }
  return s;
}

CredentialsFetch FetchFor(const CredentialSource& source, const http::TransportFactory& transports) {
  if (source.kind == CredentialSource::Kind::kProcess) return [source] { return Process(source); };
  http::TransportOptions options;
  options.max_total_connections = 2;
  options.connect_timeout_ms = 2000;
  options.low_speed_time_s = 10;
  std::shared_ptr<http::Transport> transport = transports(options);
  return [source, transport]() -> Result<ExpiringCredentials> {
    switch (source.kind) {
      case CredentialSource::Kind::kWebIdentity: return WebIdentity(*transport, source);
      case CredentialSource::Kind::kContainer: return Container(*transport, source);
      case CredentialSource::Kind::kInstanceMetadata: return InstanceMetadata(*transport, source);
      default: return MakeError(ErrorCode::kCredentials, "no source of credentials");
    }
  };
}

}  // namespace riptide::s3
