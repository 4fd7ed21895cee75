// What fake_s3.cc and fake_s3_routes.cc share: the queued request, the answer, helpers.
#pragma once

#include <strings.h>

#include <chrono>
#include <ctime>
#include <optional>

#include "tests/support/fake_s3.h"
#include "transport/s3/crypto.h"
#include "transport/s3/responses.h"
#include "transport/s3/uri.h"

namespace riptide::testing {

using Clock = std::chrono::steady_clock;
inline constexpr size_t kChunk = 64 << 10;

struct FakeS3::Scope {
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> started{0};
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;  // guarded by mu
};

struct FakeS3::Pending {
  std::shared_ptr<Scope> scope;
  http::Request request;
  std::shared_ptr<http::ResponseHandler> handler;
  Clock::time_point not_before;
};

struct FakeS3::Answer {
  int status = 200;
  http::HeaderMap headers;
  std::string body;
  std::string key;             // the object whose bytes the body carries ("" for none)
  std::optional<Fault> fault;  // applied while the body is delivered
};

// The store computes ETags as S3 does, with riptide's own helpers (responses.h).
using s3::Md5Hex;

inline std::string MultipartEtag(const std::vector<std::string>& parts) {
  std::vector<s3::Md5Digest> digests;
  for (const auto& p : parts) digests.push_back(s3::Md5(p));
  return s3::CompositeEtag(digests);
}

}  // namespace riptide::testing
