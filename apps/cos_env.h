// The environment interface of teams' existing COS → dataset scripts: `riptide sync`
// (or `riptide --mode sync|tree|map`) with no positional arguments reads its job from
// COS_* variables and DATASET_DIR.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::app {

struct CosJob {
  std::string source;       // s3://COS_BUCKET_NAME[/COS_PREFIX]
  std::string destination;  // DATASET_DIR
  std::vector<std::string> keys;  // COS_OBJECT_KEYS, split at commas
  std::string keys_file;          // COS_KEYS_FILE
};

/// Reads the job from `env`. COS_ENDPOINT and the COS_ credentials are copied into
/// `env` as AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, so the usual
/// resolution (flags first) applies. One error names every missing variable.
Result<CosJob> CosJobFromEnvironment(std::map<std::string, std::string>& env, bool needs_dataset);

}  // namespace riptide::app
