// Configuration precedence: flags > environment > profiles > defaults.
#include "transport/s3/config.h"

#include <gtest/gtest.h>

namespace riptide::s3 {
namespace {

constexpr const char* kCredentials = R"(
# a comment
[default]
aws_access_key_id = DEFAULTKEY
aws_secret_access_key = defaultsecret

[work]
aws_access_key_id=WORKKEY
aws_secret_access_key = "worksecret"
aws_session_token = worktoken
)";

constexpr const char* kConfig = R"(
[default]
region = eu-west-1

[profile work]
region = ap-south-1
s3 =
  addressing_style = path
  endpoint_url = http://10.1.2.3:7480
)";

ConfigSources Sources(std::map<std::string, std::string> env) {
  ConfigSources s;
  s.env = std::move(env);
  s.credentials_text = kCredentials;
  s.config_text = kConfig;
  return s;
}

TEST(Config, DefaultProfileWhenNothingElse) {
  auto c = ResolveClientConfig({}, Sources({}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->credentials.access_key_id, "DEFAULTKEY");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->endpoint.host, "s3.eu-west-1.amazonaws.com");
}

TEST(Config, EnvironmentBeatsProfile) {
  auto c = ResolveClientConfig({}, Sources({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                            {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                            {"AWS_DEFAULT_REGION", "us-west-2"},
                                            {"AWS_REGION", "us-east-2"},
                                            {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(c->region, "us-east-2");
  EXPECT_EQ(c->endpoint.port, "9000");
}

TEST(Config, FlagsBeatEnvironment) {
  ConfigFlags f;
  f.region = "sa-east-1";
  f.endpoint = "http://localhost:1234";
  f.profile = "work";
  auto c = ResolveClientConfig(f, Sources({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                           {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                           {"AWS_REGION", "us-east-2"},
                                           {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->region, "sa-east-1");
  EXPECT_EQ(c->endpoint.host, "localhost");
  EXPECT_EQ(c->credentials.access_key_id, "WORKKEY");  // --profile beats env credentials
  EXPECT_EQ(c->credentials.session_token, "worktoken");
}

TEST(Config, ProfileFromEnvironmentWithNestedS3Settings) {
  auto c = ResolveClientConfig({}, Sources({{"AWS_PROFILE", "work"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->credentials.secret_access_key, "worksecret");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->endpoint.host, "10.1.2.3");
  EXPECT_EQ(c->addressing, Addressing::kPath);
}

TEST(Config, ClearErrors) {
  ConfigSources empty;
  auto c = ResolveClientConfig({}, empty);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kCredentials);
  EXPECT_NE(c.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);

  ConfigFlags f;
  f.profile = "nope";
  EXPECT_NE(ResolveClientConfig(f, Sources({})).error().message.find("'nope'"), std::string::npos);

  empty.env = {{"AWS_ACCESS_KEY_ID", "K"}};
  c = ResolveClientConfig({}, empty);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("no secret"), std::string::npos);

  f = ConfigFlags{};
  f.endpoint = "not a url";
  EXPECT_EQ(ResolveClientConfig(f, Sources({})).error().code, ErrorCode::kInvalidArgument);
}

TEST(Config, AnonymousNeedsNoCredentials) {
  ConfigFlags f;
  f.no_sign_request = true;
  auto c = ResolveClientConfig(f, ConfigSources{});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->anonymous);
}

}  // namespace
}  // namespace riptide::s3
