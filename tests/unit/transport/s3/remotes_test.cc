// Named remotes from riptide.conf and from rclone.conf files as rclone writes them.
#include "transport/s3/remotes.h"

#include <gtest/gtest.h>

namespace riptide::s3 {
namespace {

// Shaped like real rclone.conf files: comments, blank lines, CRLF, quoted values,
// env_auth, several providers, a non-S3 remote.
constexpr const char* kRclone =
    "# rclone config, edited by hand\r\n"
    "[source]\r\n"
    "type = s3\r\n"
    "provider = IBMCOS\r\n"
    "access_key_id = \"0123456789abcdef\"\r\n"
    "secret_access_key = s3cr3t/with+chars=\r\n"
    "endpoint = s3.eu-de.cloud-object-storage.appdomain.cloud\r\n"
    "location_constraint = eu-de-standard\r\n"
    "\r\n"
    "[ceph]\n"
    "type = s3\n"
    "provider = Ceph\n"
    "env_auth = true\n"
    "endpoint = http://10.0.0.5:7480\n"
    "; a comment\n"
    "[minio]\n"
    "type = s3\n"
    "provider = Minio\n"
    "access_key_id = minio\n"
    "secret_access_key = minio123\n"
    "endpoint = http://127.0.0.1:9000\n"
    "force_path_style = false\n"
    "region = 'us-west-1'\n"
    "[aws]\n"
    "type = s3\n"
    "provider = AWS\n"
    "env_auth = false\n"
    "region = eu-central-1\n"
    "[drive]\n"
    "type = drive\n"
    "scope = drive\n";

TEST(Remotes, SplitsOnlyRemoteSyntax) {
  EXPECT_EQ(SplitRemoteUrl("src:bucket/p"), (std::pair<std::string, std::string>{"src", "s3://bucket/p"}));
  EXPECT_EQ(SplitRemoteUrl("my remote:b"), (std::pair<std::string, std::string>{"my remote", "s3://b"}));
  EXPECT_FALSE(SplitRemoteUrl("s3://bucket/p"));
  EXPECT_FALSE(SplitRemoteUrl("/data/x"));
  EXPECT_FALSE(SplitRemoteUrl("./a:b"));
  EXPECT_FALSE(SplitRemoteUrl(":b"));
}

TEST(Remotes, RcloneIbmCosWithQuotedKeys) {
  auto r = FindRemote("source", "", kRclone, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->from, "rclone.conf");
  EXPECT_EQ(r->flags.endpoint, "https://s3.eu-de.cloud-object-storage.appdomain.cloud");
  EXPECT_EQ(r->credentials.access_key_id, "0123456789abcdef");
  EXPECT_EQ(r->credentials.secret_access_key, "s3cr3t/with+chars=");
  EXPECT_EQ(r->flags.addressing, Addressing::kPath);  // rclone's default off AWS
}

TEST(Remotes, RcloneEnvAuthLeavesTheUsualChain) {
  auto r = FindRemote("ceph", "", kRclone, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->credentials.access_key_id.empty());
  EXPECT_FALSE(r->flags.no_sign_request);
  EXPECT_EQ(r->flags.endpoint, "http://10.0.0.5:7480");
}

TEST(Remotes, RcloneAddressingAndRegion) {
  auto minio = FindRemote("minio", "", kRclone, {});
  ASSERT_TRUE(minio.ok());
  EXPECT_EQ(minio->flags.addressing, Addressing::kVirtualHost);
  EXPECT_EQ(minio->flags.region, "us-west-1");
  auto aws = FindRemote("aws", "", kRclone, {});
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(aws->flags.addressing, Addressing::kVirtualHost);
  EXPECT_TRUE(aws->flags.no_sign_request);  // no keys and no env_auth: anonymous, as rclone
}

TEST(Remotes, NonS3AndUnknownRemotesAreErrors) {
  auto drive = FindRemote("drive", "", kRclone, {});
  ASSERT_FALSE(drive.ok());
  EXPECT_NE(drive.error().message.find("'drive' remote"), std::string::npos);
  auto none = FindRemote("nope", "", kRclone, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no remote named 'nope'"), std::string::npos);
}

TEST(Remotes, RiptideConfWinsAndReadsSecretsFromTheEnvironment) {
  const char* own =
      "[source]\n"
      "endpoint = https://minio.internal:9000\n"
      "addressing = path\n"
      "access_key_id = AKID\n"
      "secret_access_key_env = SOURCE_SECRET\n"
      "ca_bundle = /etc/ssl/internal.pem\n";
  auto r = FindRemote("source", own, kRclone, {{"SOURCE_SECRET", "from-env"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->from, "riptide.conf");
  EXPECT_EQ(r->credentials.secret_access_key, "from-env");
  EXPECT_EQ(r->ca_bundle, "/etc/ssl/internal.pem");
  EXPECT_TRUE(r->verify_tls);
  auto unset = FindRemote("source", own, "", {});
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.error().message.find("SOURCE_SECRET, which is not set"), std::string::npos);
  auto bad = FindRemote("x", "[x]\naddressing = sideways\n", "", {});
  ASSERT_FALSE(bad.ok());
}

}  // namespace
}  // namespace riptide::s3
