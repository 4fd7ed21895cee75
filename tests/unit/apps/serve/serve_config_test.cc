#include "apps/serve/serve_config.h"

#include <gtest/gtest.h>

#include "transport/byte_size.h"

namespace riptide::serve {
namespace {

s3::ConfigSources Env(std::map<std::string, std::string> env = {}) {
  s3::ConfigSources sources;
  sources.env = std::move(env);
  return sources;
}

TEST(ServeConfig, AJobWithItsScheduleFiltersAndSecretsFromTheEnvironment) {
  const std::string text = R"(listen: 0.0.0.0:9000
state_dir: /var/lib/riptide
auth_token: ${TOKEN}
jobs:
  - name: datasets
    source: s3://bucket/prefix
    destination: ${DATA_ROOT:-/data}/set
    every: 5m
    delete: true
    max_delete: 1000
    include: ["*.parquet", "**/*.parquet"]
    exclude: tmp/**
    concurrency: 32
    list_concurrency: 16
    part_size: 32M
  - name: nightly
    source: /srv/export
    destination: s3://archive/export/
    schedule: "0 3 * * *"
)";
  auto config = ParseServeConfig(text, "serve.yaml", Env({{"TOKEN", "t0k"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen_host, "0.0.0.0");
  EXPECT_EQ(config->listen_port, 9000);
  EXPECT_FALSE(config->ListenIsLoopback());
  EXPECT_EQ(config->auth_token, "t0k");
  ASSERT_EQ(config->jobs.size(), 2u);
  const ServeJob& job = config->jobs[0];
  EXPECT_EQ(job.name, "datasets");
  EXPECT_EQ(job.line, 5);
  EXPECT_EQ(job.spec.destination, "/data/set");
  EXPECT_TRUE(job.spec.delete_extraneous);
  EXPECT_EQ(job.spec.max_delete, 1000);
  EXPECT_EQ(job.spec.concurrency, 32);
  EXPECT_EQ(job.spec.list_concurrency, 16);
  EXPECT_EQ(config->jobs[1].spec.list_concurrency, engine::kDefaultListConcurrency);
  EXPECT_EQ(job.spec.part_size, 32u << 20);
  EXPECT_EQ(job.schedule.Describe(), "every 5m");
  // Everything else out, the includes in, the excludes out again: the last match decides.
  const std::vector<std::pair<bool, std::string>> filters = {
      {false, "**"}, {true, "*.parquet"}, {true, "**/*.parquet"}, {false, "tmp/**"}};
  EXPECT_EQ(job.spec.filters, filters);
  EXPECT_EQ(config->jobs[1].schedule.Describe(), "cron 0 3 * * * (UTC)");
  EXPECT_EQ(config->Find("nightly"), &config->jobs[1]);
  EXPECT_EQ(config->Find("other"), nullptr);
}

TEST(ServeConfig, EveryProblemAtOnceInTheOrderOfTheFile) {
  const std::string text = R"(listen: nowhere
state_dir: /s
extra: 1
jobs:
  - name: "bad name!"
    source: s3://b/p
    destination: /d
    every: 5m
    schedule: "* * * * *"
    max_delete: 3
  - source: s3://b/${NOPE}
    destination: s3://b2/x
    part_size: 1K
    retries: lots
  - name: local
    source: /a
    destination: /b
    copy_mode: sideways
)";
  auto config = ParseServeConfig(text, "c.yaml", Env());
  ASSERT_FALSE(config.ok());
  const std::string expected =
      "c.yaml:1: listen must be HOST:PORT (e.g. 127.0.0.1:8080), not 'nowhere'\n"
      "c.yaml:3: unknown key 'extra' in the service config\n"
      "c.yaml:5: job name 'bad name!' may hold only letters, digits, '-', '_' and '.'\n"
      "c.yaml:9: give every or schedule, not both\n"
      "c.yaml:10: max_delete without delete: true does nothing\n"
      "c.yaml:11: ${NOPE} is not set in the environment\n"
      "c.yaml:11: a job needs a name\n"
      "c.yaml:13: part_size must be a size from 65536 to 5368709120 bytes (e.g. 16M), not '1K'\n"
      "c.yaml:14: retries must be a whole number from 0 to 100, not 'lots'\n"
      "c.yaml:17: a local source needs a bucket destination\n"
      "c.yaml:18: copy_mode must be auto, server-side or streamed";
  EXPECT_EQ(config.error().message, expected);
}

TEST(ServeConfig, RefusesWhatCannotBeAServiceConfig) {
  EXPECT_NE(ParseServeConfig("a: [", "c.yaml", Env()).error().message.find("c.yaml:1: not valid YAML"),
            std::string::npos);
  EXPECT_NE(ParseServeConfig("- 1", "c.yaml", Env()).error().message.find("must be a map"), std::string::npos);
  auto empty = ParseServeConfig("listen: 127.0.0.1:1\n", "c.yaml", Env());
  EXPECT_NE(empty.error().message.find("state_dir is missing"), std::string::npos);
  EXPECT_NE(empty.error().message.find("jobs is missing"), std::string::npos);
  auto reads = ParseServeConfig("state_dir: /s\nauth_reads: true\njobs:\n  - {name: a, source: s3://b/p, destination: /d}\n",
                                "c.yaml", Env());
  EXPECT_EQ(reads.error().message, "c.yaml:2: auth_reads needs an auth_token");
  auto twice = ParseServeConfig(
      "state_dir: /s\njobs:\n  - {name: a, source: s3://b/p, destination: /d}\n"
      "  - {name: a, source: s3://b/q, destination: /e}\n",
      "c.yaml", Env());
  EXPECT_EQ(twice.error().message, "c.yaml:4: a second job called 'a'");
  auto tuned = ParseServeConfig(
      "state_dir: /s\njobs:\n  - {name: a, source: s3://b/p, destination: /d, concurrency: auto}\n", "c.yaml", Env());
  ASSERT_TRUE(tuned.ok()) << tuned.error().message;
  EXPECT_EQ(tuned->jobs[0].spec.concurrency, engine::kAutoConcurrency);
  auto fast = ParseServeConfig(
      "state_dir: /s\njobs:\n  - {name: a, source: s3://b/p, destination: /d, concurrency: fast}\n", "c.yaml", Env());
  ASSERT_FALSE(fast.ok());
  EXPECT_NE(fast.error().message.find("concurrency must be a whole number"), std::string::npos);
  auto ranges = ParseServeConfig(
      "state_dir: /s\njobs:\n  - {name: a, source: s3://b/p, destination: /d, list_concurrency: "
      "0}\n",
      "c.yaml", Env());
  EXPECT_FALSE(ranges.ok());
}

TEST(ServeConfig, EventJobsAndTheirCommand) {
  auto ok = ParseServeConfig(
      "state_dir: /s\njobs:\n"
      "  - {name: a, source: s3://b/in, destination: /d, on_event: true, move: true, include: ['*.csv'],\n"
      "     process: \"gzip -c '-9'\", process_suffix: .gz, process_timeout: 2m}\n"
      "  - {name: s, source: s3://b/x, destination: /e, process: 'a | b', process_shell: true}\n",
      "c.yaml", Env());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  const ServeJob& a = ok->jobs[0];
  EXPECT_TRUE(a.on_event && a.move);
  EXPECT_EQ((a.source_bucket + "|" + a.source_prefix), "b|in/");
  EXPECT_EQ(a.process->argv, (std::vector<std::string>{"gzip", "-c", "-9"}));
  EXPECT_EQ(a.process->timeout, std::chrono::minutes(2));
  EXPECT_TRUE(a.Covers("b", "in/x.csv"));
  EXPECT_FALSE(a.Covers("b", "in/x.txt"));  // excluded by the job's include
  EXPECT_FALSE(a.Covers("b", "inx/y.csv"));
  EXPECT_FALSE(a.Covers("c", "in/x.csv"));
  EXPECT_EQ(ok->jobs[1].process->argv, (std::vector<std::string>{"/bin/sh", "-c", "a | b"}));
  auto bad = ParseServeConfig(
      "state_dir: /s\njobs:\n"
      "  - {name: a, source: /local, destination: s3://b/x, on_event: true}\n"
      "  - {name: b, source: s3://b/x, destination: /d, process: \"tr 'open\"}\n"
      "  - {name: c, source: s3://b/x, destination: /e, process_suffix: .gz}\n",
      "c.yaml", Env());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("c.yaml:3: on_event needs a bucket source"), std::string::npos);
  EXPECT_NE(bad.error().message.find("c.yaml:4: process: a command"), std::string::npos);
  EXPECT_NE(bad.error().message.find("c.yaml:5: process_suffix, process_timeout and process_shell need process"),
            std::string::npos)
      << bad.error().message;
}

TEST(ServeConfig, SizesAndLoopback) {
  EXPECT_EQ(*ParseByteSize("64"), 64u);
  EXPECT_EQ(*ParseByteSize("16M"), 16u << 20);
  EXPECT_EQ(*ParseByteSize("16MiB"), 16u << 20);
  EXPECT_EQ(*ParseByteSize("1G"), 1u << 30);
  EXPECT_FALSE(ParseByteSize("M").ok());
  EXPECT_FALSE(ParseByteSize("12Q").ok());
  ServeConfig c;
  for (const char* host : {"127.0.0.1", "127.0.0.2", "localhost", "::1"}) {
    c.listen_host = host;
    EXPECT_TRUE(c.ListenIsLoopback()) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "127example.org", "127.evil.example"}) {
    c.listen_host = host;
    EXPECT_FALSE(c.ListenIsLoopback()) << host;
  }
}

}  // namespace
}  // namespace riptide::serve
