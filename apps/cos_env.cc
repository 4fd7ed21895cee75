#include "apps/cos_env.h"

#include "transport/strings.h"

namespace riptide::app {
namespace {

std::string Get(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : std::string(TrimWhitespace(it->second));
}

}  // namespace

Result<CosJob> CosJobFromEnvironment(std::map<std::string, std::string>& env, bool needs_dataset) {
  std::vector<std::string> missing;
  auto need = [&](const std::string& name) {
    std::string v = Get(env, name);
    if (v.empty()) missing.push_back(name);
    return v;
  };
  const std::string endpoint = need("COS_ENDPOINT");
  const std::string bucket = need("COS_BUCKET_NAME");
  CosJob job;
  if (needs_dataset) job.destination = need("DATASET_DIR");
  const std::string key_id = Get(env, "COS_ACCESS_KEY_ID");
  const std::string secret = Get(env, "COS_SECRET_ACCESS_KEY");
  // Credentials may come from the usual AWS chain instead; half a pair is a mistake.
  if (!key_id.empty() && secret.empty()) missing.push_back("COS_SECRET_ACCESS_KEY");
  if (key_id.empty() && !secret.empty()) missing.push_back("COS_ACCESS_KEY_ID");
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    return MakeError(ErrorCode::kInvalidArgument,
                     "missing environment variable" + std::string(missing.size() > 1 ? "s " : " ") + names +
                         " (with no SRC and DST, riptide reads its job from COS_ENDPOINT, COS_BUCKET_NAME, "
                         "COS_ACCESS_KEY_ID, COS_SECRET_ACCESS_KEY, COS_PREFIX, COS_OBJECT_KEYS, "
                         "COS_KEYS_FILE and DATASET_DIR)");
  }
  const std::string prefix = Get(env, "COS_PREFIX");
  for (const std::string& part : SplitOn(Get(env, "COS_OBJECT_KEYS"), ',')) {
    std::string key(TrimWhitespace(part));
    if (!key.empty()) job.keys.push_back(std::move(key));
  }
  job.keys_file = Get(env, "COS_KEYS_FILE");
  const int selections = !prefix.empty() + !job.keys.empty() + !job.keys_file.empty();
  if (selections > 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "COS_PREFIX, COS_OBJECT_KEYS and COS_KEYS_FILE are mutually exclusive: set one of them");
  }
  job.source = "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix);
  env["AWS_ENDPOINT_URL"] = endpoint;
  if (!key_id.empty()) {
    env["AWS_ACCESS_KEY_ID"] = key_id;
    env["AWS_SECRET_ACCESS_KEY"] = secret;
    env.erase("AWS_SESSION_TOKEN");  // belongs to other credentials
  }
  return job;
}

}  // namespace riptide::app
