#include "transport/s3/credentials.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "transport/s3/object_info.h"

namespace riptide::s3 {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Refreshing final : public CredentialsProvider {
 public:
  static constexpr int64_t kNever = INT64_MAX / 2;
  Refreshing(std::string what, CredentialsFetch fetch, ExpiringCredentials first)
      : what_(std::move(what)), fetch_(std::move(fetch)), current_(std::move(first)), obtained_ms_(NowMs()) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Refreshing() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Credentials Current() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return current_.keys;
  }
  void Expired() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (NowMs() - refreshed_ms_ < 1000) return;  // a refresh of this burst already ran
    const uint64_t attempts = attempts_;
    refresh_now_ = true;
    cv_.notify_all();
    // The retry that follows is signed when it is queued: it must see the new keys.
    done_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return attempts_ != attempts || stopping_; });
  }

 private:
  // When the keys should be replaced: min(5 min, half their lifetime) before they expire.
  int64_t RefreshAtMs() const {
    const int64_t lifetime = std::max<int64_t>(0, current_.expires_ms - obtained_ms_);
    return current_.expires_ms - std::min<int64_t>(5 * 60 * 1000, lifetime / 2);
  }
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    // Keys that never expire are fetched again only when a server says so.
    int64_t next = current_.expires_ms == 0 ? kNever : RefreshAtMs();
    while (!stopping_) {
      const int64_t wait_ms = std::clamp<int64_t>(next - NowMs(), 0, 3600 * 1000);
      if (cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                       [&] { return stopping_ || refresh_now_; }) &&
          stopping_) {
        return;
      }
      if (NowMs() < next && !refresh_now_) continue;
      refresh_now_ = false;
      lock.unlock();
      auto fresh = fetch_();  // the network, without the lock: signing goes on meanwhile
      lock.lock();
      ++attempts_;
      refreshed_ms_ = NowMs();
      done_cv_.notify_all();
      if (fresh.ok()) {
        current_ = std::move(*fresh);
        obtained_ms_ = NowMs();
        next = current_.expires_ms == 0 ? kNever : RefreshAtMs();
      } else {
        next = NowMs() + 1000;  // the old keys may still work: try again soon
      }
    }
  }

  const std::string what_;
  CredentialsFetch fetch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  ExpiringCredentials current_;  // guarded by mu_
  int64_t obtained_ms_;          // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  bool refresh_now_ = false;     // guarded by mu_: a server said the keys expired
  uint64_t attempts_ = 0;        // guarded by mu_: refreshes tried, for Expired's wait
  int64_t refreshed_ms_ = 0;     // guarded by mu_: when the last refresh ended (not the first fetch)
  std::condition_variable done_cv_;
  std::thread thread_;
};

}  // namespace

Result<std::shared_ptr<CredentialsProvider>> RefreshingProvider(std::string what, CredentialsFetch fetch) {
  auto first = fetch();
  if (!first.ok()) {
    Error e = first.error();
    e.code = ErrorCode::kCredentials;
    e.message = "cannot get credentials from " + what + ": " + e.message;
    return e;
  }
  return std::shared_ptr<CredentialsProvider>(
      std::make_shared<Refreshing>(std::move(what), std::move(fetch), std::move(*first)));
}

Result<ExpiringCredentials> ParseCredentialsJson(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  auto text = [&](const char* name) {
    return j.is_object() && j.contains(name) && j[name].is_string() ? j[name].get<std::string>() : std::string();
  };
  ExpiringCredentials c;
  c.keys.access_key_id = text("AccessKeyId");
  c.keys.secret_access_key = text("SecretAccessKey");
  c.keys.session_token = text("Token").empty() ? text("SessionToken") : text("Token");
  if (c.keys.access_key_id.empty() || c.keys.secret_access_key.empty()) {
    return MakeError(ErrorCode::kCredentials, "the answer holds no AccessKeyId and SecretAccessKey");
  }
  if (std::string expiration = text("Expiration"); !expiration.empty()) {
    c.expires_ms = ParseIso8601Ms(expiration);
    if (c.expires_ms <= 0) return MakeError(ErrorCode::kCredentials, "unreadable Expiration '" + expiration + "'");
  }
  return c;
}

std::string CredentialSource::Describe() const {
  switch (kind) {
    case Kind::kNone: return "nowhere";
    case Kind::kWebIdentity: return "web identity (STS AssumeRoleWithWebIdentity at " + endpoint + ")";
    case Kind::kContainer: return "the container credentials endpoint " + endpoint;
    case Kind::kInstanceMetadata: return "the EC2 instance metadata service at " + endpoint;
    case Kind::kProcess: return "credential_process";
  }
  return {};
}

}  // namespace riptide::s3
