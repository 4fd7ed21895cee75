// The bench's sample of a bucket, and the cleanup of what its uploads wrote.
#include <random>

#include "engine/bench/bench.h"
#include "transport/s3/errors.h"
#include "transport/s3/xml.h"

namespace riptide::engine::bench {

const char* ClassName(SizeClass c) {
  switch (c) {
    case SizeClass::kSmall:
      return "small";
    case SizeClass::kMedium:
      return "medium";
    case SizeClass::kLarge:
      return "large";
  }
  return "?";
}

SizeClass ClassOf(uint64_t size) {
  return size < kSmallBelow ? SizeClass::kSmall : size < kLargeFrom ? SizeClass::kMedium : SizeClass::kLarge;
}

Result<Sample> SampleObjects(const ListTarget& target, const std::string& prefix, size_t per_class,
                             int list_concurrency, uint64_t max_listed) {
  Sample sample;
  std::array<uint64_t, 3> seen{};
  std::mt19937_64 rng(20261130);
  s3::ListParams params;
  params.prefix = prefix;
  Status st = ForEachListPage(target, params, [&](const s3::ListPage& page) -> Status {
    for (const auto& o : page.objects) {
      if (sample.listed >= max_listed) break;
      if (!o.key.empty() && o.key.back() == '/' && o.size == 0) continue;  // a folder marker
      sample.listed++;
      const auto c = static_cast<size_t>(ClassOf(o.size));
      sample.listed_bytes[c] += o.size;
      // Reservoir sampling: the n-th object of a class replaces a kept one with chance k/n.
      auto& kept = sample.objects[c];
      if (kept.size() < per_class) {
        kept.push_back(o);
      } else if (const uint64_t j = rng() % (seen[c] + 1); j < per_class) {
        kept[j] = o;
      }
      seen[c]++;
    }
    return OkStatus();
  }, list_concurrency);
  if (!st.ok()) return st.error();
  return sample;
}

Status CleanScratch(const ListTarget& target, const std::string& prefix, const std::vector<s3::UploadInfo>& begun) {
  for (const auto& u : begun) {
    if (Status aborted = AbortUpload(target, u); !aborted.ok()) return aborted;
  }
  s3::ListParams params;
  params.prefix = prefix;
  Status st = ForEachListPage(target, params, [&](const s3::ListPage& page) -> Status {
    if (page.objects.empty()) return OkStatus();
    std::vector<std::string> keys;
    for (const auto& o : page.objects) keys.push_back(o.key);
    auto r = target.Call([&] { return target.requests.DeleteObjects(target.bucket, keys); },
                         [](const http::Response& resp) -> Status {
                           auto failed = s3::ParseDeleteResult(resp.body);
                           if (!failed.ok()) return failed.error();
                           if (failed->empty()) return OkStatus();
                           const s3::DeleteFailure& f = failed->front();
                           return MakeError(ErrorCode::kServer, "could not delete " + f.key + ": " + f.code + " " +
                                                                   f.message);
                         });
    if (!r.ok()) return r.error();
    return OkStatus();
  });
  if (!st.ok()) return st;
  st = ForEachUploadsPage(target, prefix, [&](const s3::UploadsPage& page) -> Status {
    for (const auto& u : page.uploads) {
      if (Status aborted = AbortUpload(target, u); !aborted.ok()) return aborted;
    }
    return OkStatus();
  });
  if (!st.ok() && st.error().http_status == 501) return OkStatus();  // nothing to list with
  return st;
}

}  // namespace riptide::engine::bench
