// Listing, diff and manifest at 10,000,000 keys, with no server: a transport that
// generates ListObjectsV2 pages (real XML, parsed as a server's would be) and a real
// SQLite manifest. Two steps, so the measured one starts from a fresh process:
//   list_scale build DIR KEYS [MISSING_PERMILLE]   the manifest of KEYS objects (minus some)
//   list_scale diff DIR KEYS                       list KEYS keys and diff them against it
// `diff` prints one JSON line: keys, decisions by action, seconds, CPU seconds, peak RSS.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "engine/core/listing.h"
#include "engine/state/manifest.h"
#include "planner/diff.h"
#include "transport/s3/requests.h"
#include "transport/s3/uri.h"

namespace {

using namespace riptide;

constexpr const char* kEtag = "0123456789abcdef0123456789abcdef";

std::string Key(uint64_t i) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "data/part-%05llu/obj-%010llu.bin", static_cast<unsigned long long>(i / 10000),
                static_cast<unsigned long long>(i));
  return buf;
}

std::string Param(const std::string& url, const std::string& name) {
  const auto at = url.find(name + "=");
  if (at == std::string::npos) return {};
  const auto end = url.find('&', at);
  std::string raw = url.substr(at + name.size() + 1, end == std::string::npos ? std::string::npos : end - at - name.size() - 1);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += raw[i];
    }
  }
  return out;
}

// Answers ListObjectsV2 for keys Key(0) … Key(n-1) on a thread of its own.
class GeneratedListing final : public http::Transport {
 public:
  explicit GeneratedListing(uint64_t n) : n_(n), thread_([this] { Loop(); }) {}
  ~GeneratedListing() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Submit(http::Request request, std::shared_ptr<http::ResponseHandler> handler,
              std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(std::move(request), std::move(handler));
    cv_.notify_all();
  }
  void CancelAll() override {}
  uint64_t requests_started() const override { return requests_; }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return done_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [request, handler] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      Answer(request, *handler);
      lock.lock();
    }
  }

  void Answer(const http::Request& r, http::ResponseHandler& handler) {
    ++requests_;
    std::string after = Param(r.url, "continuation-token");
    if (after.empty()) after = Param(r.url, "start-after");
    const uint64_t max_keys = std::strtoull(Param(r.url, "max-keys").c_str(), nullptr, 10);
    // Keys are in order and fixed-width within a part: the first one after `after`.
    uint64_t first = 0;
    if (!after.empty()) first = std::strtoull(after.substr(after.rfind('-') + 1).c_str(), nullptr, 10) + 1;
    const uint64_t end = std::min(n_, first + (max_keys ? max_keys : 1000));
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name><Prefix></Prefix>";
    xml += "<KeyCount>" + std::to_string(end - first) + "</KeyCount><MaxKeys>1000</MaxKeys>";
    xml += std::string("<IsTruncated>") + (end < n_ ? "true" : "false") + "</IsTruncated>";
    if (end < n_) xml += "<NextContinuationToken>" + Key(end - 1) + "</NextContinuationToken>";
    for (uint64_t i = first; i < end; ++i) {
      xml += "<Contents><Key>" + Key(i) + "</Key><LastModified>2026-11-29T00:00:00.000Z</LastModified><ETag>&quot;" +
             kEtag + "&quot;</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>";
    }
    xml += "</ListBucketResult>";
    handler.OnHeaders(200, {{"content-type", "application/xml"}, {"content-length", std::to_string(xml.size())}});
    handler.OnBody(xml);
    handler.OnComplete();
  }

  const uint64_t n_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<http::Request, std::shared_ptr<http::ResponseHandler>>> queue_;
  bool done_ = false;
  std::atomic<uint64_t> requests_{0};
  std::thread thread_;
};

int Build(const std::string& dir, uint64_t n, uint64_t missing_permille) {
  auto manifest = engine::Manifest::Open(dir);
  if (!manifest.ok()) return std::fprintf(stderr, "%s\n", manifest.error().message.c_str()), 2;
  std::vector<engine::ObjectRow> rows;
  for (uint64_t i = 0; i < n; ++i) {
    if (missing_permille && (i * 7919) % 1000 < missing_permille) continue;  // spread evenly
    engine::ObjectRow row;
    row.key = Key(i);
    row.path = row.key;
    row.size = 1024;
    row.etag = kEtag;
    row.last_modified_ms = 1795910400000;
    row.verified_by = "md5";
    rows.push_back(std::move(row));
    if (rows.size() == 50000) {
      if (!(*manifest)->Upsert(rows).ok()) return 2;
      rows.clear();
    }
  }
  if (!rows.empty() && !(*manifest)->Upsert(rows).ok()) return 2;
  return 0;
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int Diff(const std::string& dir, uint64_t n) {
  auto manifest = engine::Manifest::Open(dir);
  if (!manifest.ok()) return std::fprintf(stderr, "%s\n", manifest.error().message.c_str()), 2;
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  GeneratedListing transport(n);
  s3::ClientConfig client;
  client.endpoint = *s3::ParseEndpoint("http://127.0.0.1:9");
  client.anonymous = true;
  s3::RequestFactory requests(client);
  engine::RetryPolicy retry;
  s3::ListParams params;
  params.max_keys = 1000;
  engine::PageReader reader(engine::ListTarget{transport, requests, "b", retry}, params);
  if (!reader.Start().ok()) return 2;
  auto cursor = (*manifest)->Cursor();
  planner::Differ differ(*cursor);
  uint64_t counts[4] = {0, 0, 0, 0}, listed = 0;
  std::vector<planner::Decision> decisions;
  while (true) {
    auto page = reader.Next();
    if (!page.ok()) return std::fprintf(stderr, "%s\n", page.error().message.c_str()), 2;
    if (!*page) break;
    decisions.clear();
    differ.Feed((*page)->objects, &decisions);
    listed += (*page)->objects.size();
    for (const auto& d : decisions) ++counts[static_cast<int>(d.action)];
  }
  decisions.clear();
  differ.Finish(&decisions);
  for (const auto& d : decisions) ++counts[static_cast<int>(d.action)];
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  std::printf("{\"keys\": %llu, \"listed\": %llu, \"new\": %llu, \"changed\": %llu, \"unchanged\": %llu, "
              "\"gone\": %llu, \"seconds\": %.2f, \"cpu_seconds\": %.2f, \"peak_rss_mib\": %.1f}\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(listed),
              static_cast<unsigned long long>(counts[0]), static_cast<unsigned long long>(counts[1]),
              static_cast<unsigned long long>(counts[2]), static_cast<unsigned long long>(counts[3]), seconds,
              CpuSeconds() - cpu0, static_cast<double>(u.ru_maxrss) / 1024.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: list_scale build DIR KEYS [MISSING_PERMILLE] | list_scale diff DIR KEYS\n");
    return 2;
  }
  const std::string step = argv[1], dir = argv[2];
  const uint64_t n = std::strtoull(argv[3], nullptr, 10);
  if (step == "build") return Build(dir, n, argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0);
  if (step == "diff") return Diff(dir, n);
  std::fprintf(stderr, "unknown step %s\n", step.c_str());
  return 2;
}
