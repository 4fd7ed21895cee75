#include "apps/serve/readiness.h"

#include <unistd.h>

#include <filesystem>

#include "transport/http/fetch.h"
#include "transport/s3/errors.h"
#include "transport/s3/requests.h"

namespace riptide::serve {

Component Readiness::CheckEnd(const ServeJob& job, const std::string& what, const std::string& end,
                              bool is_destination) {
  Component c{job.name + " " + what, false, ""};
  if (!engine::NamesBucket(end)) {
    // A destination directory is made by the first run: its nearest existing parent must be writable.
    std::filesystem::path dir(end);
    std::error_code ec;
    while (is_destination && !std::filesystem::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) {
      dir = dir.parent_path();
    }
    const int mode = is_destination ? (W_OK | X_OK) : (R_OK | X_OK);
    c.ok = ::access(dir.c_str(), mode) == 0;
    if (!c.ok) c.detail = std::string(is_destination ? "cannot write " : "cannot read ") + dir.string();
    return c;
  }
  engine::ClientResolver resolver(job.spec.client, sources_, runtime_.Host().transports);
  auto side = resolver.Side(end, 1);
  if (!side.ok()) {
    c.detail = side.error().message;
    return c;
  }
  auto transport = runtime_.Host().transports(side->transport);
  s3::RequestFactory requests(side->client);
  s3::ListParams params;
  params.prefix = side->prefix;
  params.max_keys = 1;
  auto response = http::Fetch(*transport, requests.ListObjectsV2(side->bucket, params));
  if (!response.ok()) {
    c.detail = response.error().ToString();
  } else if (response->status != 200) {
    c.detail = s3::ErrorFromResponse(*response).ToString();
  } else {
    c.ok = true;
  }
  return c;
}

std::vector<Component> Readiness::Check() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Component> all;
  Status st = store_.Probe();
  all.push_back({"state", st.ok(), st.ok() ? "" : st.error().message});
  const auto now = std::chrono::steady_clock::now();
  if (cached_.empty() || now - checked_ > config_.ready_cache) {
    cached_.clear();
    for (const auto& job : config_.jobs) {
      cached_.push_back(CheckEnd(job, "source", job.spec.source, false));
      cached_.push_back(CheckEnd(job, "destination", job.spec.destination, true));
    }
    checked_ = now;
  }
  all.insert(all.end(), cached_.begin(), cached_.end());
  return all;
}

}  // namespace riptide::serve
