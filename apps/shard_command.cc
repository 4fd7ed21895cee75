#include "apps/shard_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "apps/format.h"
#include "apps/summary.h"
#include "engine/config/shard_file.h"
#include "engine/core/listing.h"
#include "planner/key_mapping.h"
#include "planner/shard_plan.h"
#include "transport/s3/config.h"
#include "transport/s3/uri.h"

namespace riptide::app {
namespace {

std::string NowIso() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

// Written beside the final name, then renamed: a worker never reads half a plan.
Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return MakeError(ErrorCode::kIo, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return MakeError(ErrorCode::kIo, "cannot write " + path);
  }
  return OkStatus();
}

}  // namespace

ShardCommand::ShardCommand(CLI::App& app, GlobalOptions& global) : global_(global) {
  CLI::App* shard = app.add_subcommand("shard", "Split a listing into key ranges for an array of workers");
  shard->require_subcommand(1);
  plan_ = shard->add_subcommand(
      "plan", "List SRC once and write N contiguous key ranges, balanced by objects and bytes, for "
              "`riptide sync SRC DIR --shard-plan FILE` on each worker (a Slurm array, an Indexed Job)");
  plan_->add_option("source", source_, "s3://BUCKET[/PREFIX] or REMOTE:BUCKET[/PREFIX]")->required();
  plan_->add_option("--shards", shards_, "N: how many workers")->required()->check(CLI::Range(1, 100000));
  plan_->add_option("--out", out_, "FILE to write the plan to (JSON); - for stdout")->required();
  plan_->add_option("--page-size", page_size_, "keys per listing request (max-keys)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  ListConcurrencyOption(plan_, list_concurrency_);
  client_.Add(plan_);
  AddGlobalFlags(plan_, global);
}

int ShardCommand::Run() {
  s3::ConfigSources sources = s3::LoadConfigSources();
  engine::ClientResolver resolver = client_.Resolver(sources, global_.runtime->Host().transports);
  auto fail = [&](const std::string& message) {
    PrintFatal(message, global_.json, 2);
    return 2;
  };
  if (Status st = resolver.UseRemote(&source_); !st.ok()) return fail(st.error().message);
  auto url = s3::ParseS3Url(source_);
  if (!url.ok()) return fail(url.error().message);
  auto client = resolver.Client();
  if (!client.ok()) return fail(client.error().message);
  auto transport = global_.runtime->Host().transports(resolver.Transport(std::max(8, list_concurrency_)));
  s3::RequestFactory requests(std::move(*client));
  engine::ShardPlan plan;
  plan.bucket = url->bucket;
  plan.prefix = planner::NormalizePrefix(url->prefix);
  s3::ListParams params;
  params.prefix = plan.prefix;
  params.max_keys = page_size_;
  planner::ShardSampler sampler;
  Status listed = engine::ForEachListPage(engine::ListTarget{*transport, requests, plan.bucket, resolver.Retry()},
                                          params, [&](const s3::ListPage& page) {
                                            for (const auto& o : page.objects) sampler.Add(o.key, o.size);
                                            return OkStatus();
                                          },
                                          list_concurrency_);
  if (!listed.ok()) return fail("cannot list s3://" + plan.bucket + "/" + plan.prefix + ": " + listed.error().message);
  plan.shards = sampler.Split(shards_);
  plan.objects = sampler.objects();
  plan.bytes = sampler.bytes();
  plan.created = NowIso();
  const std::string text = engine::ShardPlanJson(plan);
  if (out_ == "-") {
    std::fputs(text.c_str(), stdout);
  } else if (Status st = WriteAtomically(out_, text); !st.ok()) {
    return fail(st.error().message);
  }
  if (out_ != "-" && !global_.json) {
    std::printf("%zu shards of s3://%s/%s (%llu objects, %s) written to %s\n", plan.shards.size(),
                plan.bucket.c_str(), plan.prefix.c_str(), static_cast<unsigned long long>(plan.objects),
                HumanBytes(static_cast<double>(plan.bytes)).c_str(), out_.c_str());
    if (static_cast<int>(plan.shards.size()) < shards_) {
      std::printf("(fewer than %d: there are too few objects to split further)\n", shards_);
    }
  } else if (out_ != "-") {
    std::fputs(text.c_str(), stdout);
  }
  return 0;
}

}  // namespace riptide::app
