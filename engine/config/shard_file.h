// The shard plan file (`riptide shard plan … --out shards.json`) that every worker of
// an array reads, so all agree on the ranges, and which shard a worker is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "planner/shard_plan.h"
#include "transport/result.h"

namespace riptide::engine {

struct ShardPlan {
  std::string bucket, prefix;  // what was listed (prefix normalised)
  std::vector<planner::KeyRange> shards;
  uint64_t objects = 0, bytes = 0;
  std::string created;  // ISO time
};

std::string ShardPlanJson(const ShardPlan& plan);
Result<ShardPlan> ReadShardPlan(const std::string& path);

/// The worker's shard: `flag` when given (≥ 0), else SLURM_ARRAY_TASK_ID, else
/// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); checked against the plan's count.
Result<int> ShardIndex(int flag, const std::map<std::string, std::string>& env, int shards);

/// Where shard `index` of `count` keeps its manifest, journal and lock.
std::string ShardStateDir(const std::string& state_dir, int index, int count);

}  // namespace riptide::engine
