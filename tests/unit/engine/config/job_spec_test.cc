#include "engine/config/job_spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace riptide::engine {
namespace {

s3::ConfigSources Sources() {
  s3::ConfigSources s;
  s.env = {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "SECRET"}, {"HOME", "/home/u"},
           {"TMPDIR", "/scratch"}};
  return s;
}

JobSpec Spec(std::string source, std::string destination) {
  JobSpec spec;
  spec.source = std::move(source);
  spec.destination = std::move(destination);
  spec.client.endpoint = "http://127.0.0.1:9000";
  return spec;
}

TEST(ResolveJob, ABucketIntoADirectoryIsADownload) {
  auto spec = Spec("s3://b/data", "/data/set");
  spec.part_size = 8u << 20;
  auto job = ResolveJob(spec, Sources());
  ASSERT_TRUE(job.ok()) << job.error().message;
  const auto* o = std::get_if<SyncOptions>(&*job);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->bucket, "b");
  EXPECT_EQ(o->prefix, "data");
  EXPECT_EQ(o->dataset_dir, "/data/set");
  EXPECT_EQ(o->scratch_dir, "/scratch");
  EXPECT_EQ(o->client.credentials.access_key_id, "AKID");
  EXPECT_EQ(o->parts.threshold_bytes, 8u << 20);  // the part size when no threshold is given
  // Connections for the transfers, and for the key ranges listed beside them.
  EXPECT_EQ(o->transport.max_total_connections, o->concurrency + o->list_concurrency + 4);
}

TEST(ResolveJob, TheMemoryLimitLowersDownloadConcurrency) {
  auto spec = Spec("s3://b", "/d");
  spec.concurrency = 256;
  spec.memory_limit = 32u << 20;  // 24 MiB base + 8 MiB / 256 KiB = 32 requests
  auto job = ResolveJob(spec, Sources());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(std::get<SyncOptions>(*job).concurrency, 32);
}

TEST(ResolveJob, ADirectoryOrBucketIntoABucketIsACopy) {
  auto spec = Spec("s3://src/a/", "s3://dst/b");
  spec.copy_mode = "streamed";
  auto job = ResolveJob(spec, Sources());
  ASSERT_TRUE(job.ok()) << job.error().message;
  const auto& o = std::get<CopyOptions>(*job);
  ASSERT_TRUE(o.source);
  EXPECT_EQ(o.source->prefix, "a/");
  EXPECT_EQ(o.destination.prefix, "b/");
  EXPECT_EQ(o.method, CopyOptions::Method::kStreamed);
  EXPECT_EQ(o.state_dir, "/home/u/.local/state/riptide");
  EXPECT_EQ(o.memory_limit, spec.memory_limit / 4);
}

TEST(ResolveJob, RefusalsAreOneLineNamingWhatToChange) {
  auto spec = Spec("s3://b/pre", "/d");
  spec.keys = {"k"};
  EXPECT_NE(ResolveJob(spec, Sources()).error().message.find("mutually exclusive"), std::string::npos);
  spec = Spec("s3://b", "/d");
  spec.keys = {"k"};
  spec.delete_extraneous = true;
  EXPECT_NE(ResolveJob(spec, Sources()).error().message.find("--delete needs a listing"), std::string::npos);
  EXPECT_NE(ResolveJob(Spec("/a", "/b"), Sources()).error().message.find("must be a bucket"), std::string::npos);
  EXPECT_NE(ResolveJob(Spec("s3://b/x/", "s3://b/x/y"), Sources()).error().message.find("overlap"),
            std::string::npos);
  EXPECT_EQ(ResolveJob(Spec("", "/d"), Sources()).error().code, ErrorCode::kInvalidArgument);
}

TEST(ResolveJob, ARemoteAppliesToItsOwnSide) {
  const auto dir = std::filesystem::temp_directory_path() / "riptide-jobspec-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "rclone.conf") << "[far]\ntype = s3\nendpoint = http://127.0.0.2:9000\n"
                                        "access_key_id = FARKEY\nsecret_access_key = FARSECRET\n";
  auto spec = Spec("far:src/p/", "s3://dst/q/");
  spec.client.endpoint.clear();
  spec.client.rclone_config_file = (dir / "rclone.conf").string();
  auto sources = Sources();
  sources.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9000";
  auto job = ResolveJob(spec, sources);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(job.ok()) << job.error().message;
  const auto& o = std::get<CopyOptions>(*job);
  EXPECT_EQ(o.source->client.credentials.access_key_id, "FARKEY");
  EXPECT_EQ(o.source->client.endpoint.host, "127.0.0.2");
  EXPECT_EQ(o.destination.client.credentials.access_key_id, "AKID");
  EXPECT_EQ(o.destination.client.endpoint.host, "127.0.0.1");
}

}  // namespace
}  // namespace riptide::engine
