// The COS_* / DATASET_DIR environment interface.
#include "apps/cos_env.h"

#include <gtest/gtest.h>

namespace riptide::app {
namespace {

using Env = std::map<std::string, std::string>;

Env Full() {
  return {{"COS_ENDPOINT", "http://127.0.0.1:9"}, {"COS_ACCESS_KEY_ID", "id"}, {"COS_SECRET_ACCESS_KEY", "sk"},
          {"COS_BUCKET_NAME", "bkt"}, {"DATASET_DIR", "/data/x"}, {"AWS_SESSION_TOKEN", "other"}};
}

TEST(CosEnv, MapsEveryVariable) {
  Env env = Full();
  env["COS_PREFIX"] = "train/";
  auto job = CosJobFromEnvironment(env, true);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->source, "s3://bkt/train/");
  EXPECT_EQ(job->destination, "/data/x");
  EXPECT_EQ(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:9");
  EXPECT_EQ(env["AWS_ACCESS_KEY_ID"], "id");
  EXPECT_EQ(env["AWS_SECRET_ACCESS_KEY"], "sk");
  EXPECT_EQ(env.count("AWS_SESSION_TOKEN"), 0u);
}

TEST(CosEnv, KeysAreCommaSeparatedAndTrimmed) {
  Env env = Full();
  env["COS_OBJECT_KEYS"] = " a/b.txt, c ,,d ";
  auto job = CosJobFromEnvironment(env, true);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->keys, (std::vector<std::string>{"a/b.txt", "c", "d"}));
  EXPECT_EQ(job->source, "s3://bkt");
}

TEST(CosEnv, OneMessageNamesEveryMissingVariable) {
  Env env{{"COS_ACCESS_KEY_ID", "id"}};
  auto job = CosJobFromEnvironment(env, true);
  ASSERT_FALSE(job.ok());
  const std::string& m = job.error().message;
  EXPECT_EQ(m.rfind("missing environment variables COS_ENDPOINT, COS_BUCKET_NAME, DATASET_DIR, "
                    "COS_SECRET_ACCESS_KEY (",
                    0),
            0u)
      << m;
  // tree needs no DATASET_DIR
  Env tree = Full();
  tree.erase("DATASET_DIR");
  EXPECT_TRUE(CosJobFromEnvironment(tree, false).ok());
}

TEST(CosEnv, SelectionsAreMutuallyExclusive) {
  Env env = Full();
  env["COS_PREFIX"] = "p";
  env["COS_KEYS_FILE"] = "/tmp/keys";
  auto job = CosJobFromEnvironment(env, true);
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.error().message.find("mutually exclusive"), std::string::npos);
}

}  // namespace
}  // namespace riptide::app
