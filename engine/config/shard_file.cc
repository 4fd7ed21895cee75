#include "engine/config/shard_file.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace riptide::engine {
namespace {

Error Invalid(const std::string& message) { return MakeError(ErrorCode::kInvalidArgument, message); }

}  // namespace

std::string ShardPlanJson(const ShardPlan& plan) {
  nlohmann::json shards = nlohmann::json::array();
  for (size_t i = 0; i < plan.shards.size(); ++i) {
    const auto& r = plan.shards[i];
    shards.push_back({{"index", i}, {"after", r.after}, {"last", r.last}, {"objects", r.objects}, {"bytes", r.bytes}});
  }
  nlohmann::json j = {{"riptide_shard_plan", 1}, {"bucket", plan.bucket}, {"prefix", plan.prefix},
                      {"objects", plan.objects}, {"bytes", plan.bytes},   {"created", plan.created},
                      {"shards", shards}};
  return j.dump(2) + "\n";
}

Result<ShardPlan> ReadShardPlan(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Invalid("cannot read the shard plan " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  const auto bad = Invalid(path + " is not a shard plan (write one with riptide shard plan)");
  if (j.is_discarded() || !j.is_object() || !j.contains("riptide_shard_plan") || !j.contains("shards") ||
      !j["shards"].is_array() || j["shards"].empty()) {
    return bad;
  }
  ShardPlan plan;
  try {
    plan.bucket = j.at("bucket").get<std::string>();
    plan.prefix = j.at("prefix").get<std::string>();
    plan.objects = j.value("objects", uint64_t{0});
    plan.bytes = j.value("bytes", uint64_t{0});
    plan.created = j.value("created", std::string());
    for (const auto& s : j["shards"]) {
      plan.shards.push_back({s.at("after").get<std::string>(), s.at("last").get<std::string>(),
                             s.value("objects", uint64_t{0}), s.value("bytes", uint64_t{0})});
    }
  } catch (const nlohmann::json::exception&) {
    return bad;
  }
  // Contiguous and in order: each range starts where the previous one ended.
  for (size_t i = 0; i < plan.shards.size(); ++i) {
    const auto& r = plan.shards[i];
    const bool first_ok = i > 0 || r.after.empty();
    const bool joins = i == 0 || r.after == plan.shards[i - 1].last;
    const bool ends = (i + 1 == plan.shards.size()) == r.last.empty();
    if (!first_ok || !joins || !ends || (!r.last.empty() && r.last <= r.after)) {
      return Invalid(path + ": shard " + std::to_string(i) + " does not continue the ranges before it");
    }
  }
  return plan;
}

Result<int> ShardIndex(int flag, const std::map<std::string, std::string>& env, int shards) {
  std::string from = "--shard";
  long long index = flag;
  if (index < 0) {
    for (const char* name : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}) {
      auto it = env.find(name);
      if (it == env.end() || it->second.empty()) continue;
      char* end = nullptr;
      index = std::strtoll(it->second.c_str(), &end, 10);
      if (*end) return Invalid(std::string(name) + " is not a number: '" + it->second + "'");
      from = name;
      break;
    }
  }
  if (index < 0) return Invalid("which shard? give --shard I, or run as a Slurm array task or an Indexed Job");
  if (index >= shards) {
    return Invalid(from + " " + std::to_string(index) + " is past the plan's " + std::to_string(shards) +
                   " shards (0 to " + std::to_string(shards - 1) + ")");
  }
  return static_cast<int>(index);
}

std::string ShardStateDir(const std::string& state_dir, int index, int count) {
  return state_dir + "/shards/" + std::to_string(index) + "-of-" + std::to_string(count);
}

}  // namespace riptide::engine
