#include "transport/s3/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <chrono>
#include <thread>

#include "transport/s3/config.h"
#include "transport/s3/xml.h"

namespace riptide::s3 {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Keys that live 600 ms are replaced by the provider's own thread before they expire.
TEST(RefreshingProvider, ReplacesTemporaryKeysBeforeTheyExpire) {
  std::atomic<int> fetches{0};
  auto provider = RefreshingProvider("test", [&]() -> Result<ExpiringCredentials> {
    const int n = ++fetches;
    return ExpiringCredentials{{"AKID" + std::to_string(n), "secret", "token"}, NowMs() + 600};
  });
  ASSERT_TRUE(provider.ok());
  EXPECT_EQ((*provider)->Current().access_key_id, "AKID1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((*provider)->Current().access_key_id == "AKID1" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ((*provider)->Current().access_key_id, "AKID2");
  EXPECT_EQ((*provider)->Current().session_token, "token");
}

// Keys good for an hour, but a server said they expired: new ones are fetched at once.
TEST(RefreshingProvider, ExpiredFetchesNewKeysAtOnce) {
  std::atomic<int> fetches{0};
  auto provider = RefreshingProvider("test", [&]() -> Result<ExpiringCredentials> {
    const int n = ++fetches;
    return ExpiringCredentials{{"AKID" + std::to_string(n), "secret", ""}, NowMs() + 3600 * 1000};
  });
  ASSERT_TRUE(provider.ok());
  (*provider)->Expired();  // returns once the new keys are in
  EXPECT_EQ((*provider)->Current().access_key_id, "AKID2");
  (*provider)->Expired();  // a second ExpiredToken of the same burst fetches nothing
  EXPECT_EQ(fetches, 2);
}

TEST(RefreshingProvider, AFailedFirstFetchIsACredentialsError) {
  auto provider = RefreshingProvider("the container credentials endpoint http://127.0.0.1:1/c",
                                     [] { return Result<ExpiringCredentials>(MakeError(ErrorCode::kNetwork, "refused")); });
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.error().code, ErrorCode::kCredentials);
  EXPECT_NE(provider.error().message.find("container credentials endpoint"), std::string::npos);
}

TEST(CredentialsParsing, ContainerJsonAndStsXml) {
  auto c = ParseCredentialsJson(R"({"AccessKeyId":"ASIAX","SecretAccessKey":"s","Token":"t",
                                     "Expiration":"2026-11-29T09:29:37Z"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->keys.session_token, "t");
  EXPECT_EQ(c->expires_ms, 1795944577000);
  EXPECT_FALSE(ParseCredentialsJson("{}").ok());
  EXPECT_FALSE(ParseCredentialsJson("not json").ok());
  auto sts = ParseAssumeRoleWithWebIdentity(
      R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">)"
      R"(<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAR</AccessKeyId>)"
      R"(<SecretAccessKey>sec</SecretAccessKey><SessionToken>tok</SessionToken>)"
      R"(<Expiration>2026-11-29T09:29:37.949424Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>)"
      R"(</AssumeRoleWithWebIdentityResponse>)");
  ASSERT_TRUE(sts.ok()) << sts.error().message;
  EXPECT_EQ(sts->keys.access_key_id, "ASIAR");
  EXPECT_EQ(sts->keys.session_token, "tok");
  EXPECT_GT(sts->expires_ms, 0);
  EXPECT_FALSE(ParseAssumeRoleWithWebIdentity("<Error><Code>AccessDenied</Code></Error>").ok());
}

TEST(CredentialSources, TheChainsOrder) {
  std::map<std::string, std::string> env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}, {"AWS_ROLE_ARN", "arn:r"},
                                            {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c"}};
  auto s = FindCredentialSource(env, {}, "eu-de");
  EXPECT_EQ(s.kind, CredentialSource::Kind::kWebIdentity);
  EXPECT_EQ(s.endpoint, "https://sts.eu-de.amazonaws.com");
  env.erase("AWS_ROLE_ARN");
  EXPECT_EQ(FindCredentialSource(env, {}, "us-east-1").kind, CredentialSource::Kind::kContainer);
  EXPECT_EQ(FindCredentialSource(env, {{"credential_process", "x"}}, "us-east-1").kind,
            CredentialSource::Kind::kProcess);
  EXPECT_EQ(FindCredentialSource({}, {}, "us-east-1").kind, CredentialSource::Kind::kNone);
  // The metadata service is asked for, never guessed.
  EXPECT_EQ(FindCredentialSource({}, {{"credential_source", "Ec2InstanceMetadata"}}, "us-east-1").kind,
            CredentialSource::Kind::kInstanceMetadata);
}

TEST(CredentialSources, StaticKeysWinAndTemporaryOnesNeedNoKeys) {
  ConfigSources src;
  src.env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}, {"AWS_ROLE_ARN", "arn:r"}};
  auto cfg = ResolveClientConfig({}, src);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->credential_source.kind, CredentialSource::Kind::kWebIdentity);
  src.env["AWS_ACCESS_KEY_ID"] = "AK";
  src.env["AWS_SECRET_ACCESS_KEY"] = "SK";
  cfg = ResolveClientConfig({}, src);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->credential_source.kind, CredentialSource::Kind::kNone);
  EXPECT_EQ(cfg->credentials.access_key_id, "AK");
  // credential_process runs without a transport; keys without an expiry are not
  // fetched again on a timer (the command ran once).
  const std::string runs = ::testing::TempDir() + "riptide-credential-process-runs";
  std::remove(runs.c_str());
  src.env = {};
  src.config_text = "[default]\ncredential_process = sh -c 'echo run >> " + runs +
                    "; printf \"{\\\"AccessKeyId\\\":\\\"P\\\",\\\"SecretAccessKey\\\":\\\"Q\\\"}\"'\n";
  cfg = ResolveClientConfig({}, src);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_TRUE(AttachCredentials(*cfg, nullptr).ok()) << AttachCredentials(*cfg, nullptr).error().message;
  EXPECT_EQ(cfg->provider->Current().access_key_id, "P");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::ifstream in(runs);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 1);
  std::remove(runs.c_str());
}

}  // namespace
}  // namespace riptide::s3
