#include "engine/process/process_job.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <variant>

#include "engine/copy/object_streams.h"
#include "engine/core/hashing.h"
#include "engine/core/ticker.h"
#include "engine/process/child_process.h"
#include "engine/process/process_outputs.h"
#include "planner/key_mapping.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

constexpr size_t kReadBytes = 1 << 20;

// What the command is told: no credentials, no proxy settings, only where it runs.
std::vector<std::string> CleanEnvironment(const std::string& bucket, const std::string& key) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent", "RIPTIDE_BUCKET=" + bucket,
          "RIPTIDE_KEY=" + key};
}

class Processor {
 public:
  Processor(const ProcessOptions& o, const JobHost& host, Stats& stats)
      : o_(o), host_(host), stats_(stats), src_requests_(o.source.client),
        src_(host.transports(o.source.transport)) {
    if (o.destination) {
      dst_requests_.emplace(o.destination->client);
      dst_ = host.transports(o.destination->transport);
    }
  }

  // One object through the command; the reason it failed, "" when it is in place.
  std::string One(const StreamEntry& e, uint64_t* out_bytes, std::string* landed) {
    std::unique_ptr<ObjectOutput> out;
    if (o_.destination) {
      *landed = o_.destination->prefix + e.rel + o_.command.suffix;
      out = std::make_unique<BucketOutput>(*dst_, *dst_requests_, o_.destination->bucket, *landed, o_.part_size,
                                           RetryScope{o_.retry, nullptr, &stats_});
    } else {
      planner::KeyMapping m = planner::MapKey(e.info.key, o_.source.prefix);
      if (m.kind != planner::KeyMapping::Kind::kFile) return "refused: " + (m.reason.empty() ? "not a file" : m.reason);
      *landed = m.path + o_.command.suffix;
      out = std::make_unique<FileOutput>(o_.destination_dir, *landed);
    }
    auto child = ChildProcess::Start(o_.command.argv, CleanEnvironment(o_.source.bucket, e.info.key));
    if (!child.ok()) return child.error().message;
    std::string feed_error;
    std::thread feeder([&] {
      feed_error = Feed(e, child->stdin_fd());
      child->CloseStdin();
    });
    std::string error = Drain(*child, *out);
    feeder.join();
    const std::string exit = child->Wait();
    if (error.empty()) error = !exit.empty() ? exit : feed_error;
    if (error.empty()) {
      auto done = out->Finish();
      if (!done.ok()) error = "cannot write the result: " + done.error().ToString();
      else *out_bytes = *done;
    }
    if (!error.empty()) out->Abort();
    return error;
  }

 private:
  // The source object in ranged GETs (each If-Match its ETag), written to the command.
  std::string Feed(const StreamEntry& e, int fd) {
    DigestState digest(s3::IsPlainMd5Etag(e.info.etag), {});
    const RetryScope scope{o_.retry, nullptr, &stats_};
    for (uint64_t off = 0; off < e.info.size; off += o_.part_size) {
      const uint64_t last = std::min(e.info.size, off + o_.part_size) - 1;
      auto r = CallAndWait(*src_, scope, [&] {
        return src_requests_.GetObject(o_.source.bucket, e.info.key, s3::ByteRange{off, last}, e.info.etag);
      }, nullptr, o_.part_size + 1024);
      if (!r.ok()) return "cannot read the source: " + r.error().ToString();
      digest.Update(r->body.data(), r->body.size());
      stats_.bytes_received += r->body.size();
      for (size_t done = 0; done < r->body.size();) {
        const ssize_t n = ::write(fd, r->body.data() + done, r->body.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return "";  // the command stopped reading: its exit status decides
        done += static_cast<size_t>(n);
      }
    }
    if (s3::IsPlainMd5Etag(e.info.etag) && digest.Finish().md5 != e.info.etag) {
      return "the source bytes do not match its ETag";
    }
    return "";
  }

  // The command's output, to `out`, until it ends, times out or the run stops.
  std::string Drain(ChildProcess& child, ObjectOutput& out) {
    const auto deadline = std::chrono::steady_clock::now() + o_.command.timeout;
    std::string buffer(kReadBytes, '\0');
    while (true) {
      if (host_.cancel.cancelled()) {
        child.Kill();
        return "stopped";
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        child.Kill();
        return "the command timed out after " + std::to_string(o_.command.timeout.count()) + " s";
      }
      pollfd p{child.stdout_fd(), POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      const ssize_t n = ::read(child.stdout_fd(), buffer.data(), buffer.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return n == 0 ? "" : std::string("cannot read the command's output: ") + std::strerror(errno);
      if (Status st = out.Write(std::string_view(buffer.data(), static_cast<size_t>(n))); !st.ok()) {
        child.Kill();
        return "cannot write the result: " + st.error().ToString();
      }
    }
  }

  const ProcessOptions& o_;
  const JobHost& host_;
  Stats& stats_;
  s3::RequestFactory src_requests_;
  std::unique_ptr<http::Transport> src_;
  std::optional<s3::RequestFactory> dst_requests_;
  std::unique_ptr<http::Transport> dst_;
};

Result<std::unique_ptr<ObjectStream>> OpenSource(const ProcessOptions& o, http::Transport& transport,
                                                 const s3::RequestFactory& requests, const std::atomic<bool>& stop,
                                                 Stats& stats) {
  ListTarget target{transport, requests, o.source.bucket, o.retry, &stop, &stats};
  if (!o.keys.empty()) {
    return std::unique_ptr<ObjectStream>(
        std::make_unique<KeyListStream>(target, o.source.prefix, o.keys, o.list_page_size));
  }
  auto s =
      std::make_unique<BucketStream>(target, o.source.prefix, o.list_page_size, o.list_concurrency);
  if (Status st = s->Start(); !st.ok()) return st.error();
  return std::unique_ptr<ObjectStream>(std::move(s));
}

}  // namespace

Result<ProcessOptions> ProcessOptionsOf(const JobOptions& resolved, ProcessCommand command) {
  ProcessOptions o;
  o.command = std::move(command);
  if (const auto* sync = std::get_if<SyncOptions>(&resolved)) {
    o.source = BucketSide{sync->client, sync->transport, sync->bucket, planner::NormalizePrefix(sync->prefix)};
    o.destination_dir = sync->dataset_dir;
    o.keys = sync->keys;
    o.filter = sync->filter;
    o.retry = sync->retry;
    o.list_page_size = sync->list_page_size;
    o.list_concurrency = sync->list_concurrency;
    o.workers = std::max(1, std::min(16, sync->concurrency / 4));
    return o;
  }
  const auto& copy = std::get<CopyOptions>(resolved);
  if (!copy.source) return MakeError(ErrorCode::kInvalidArgument, "process needs a bucket source");
  o.source = *copy.source;
  o.destination = copy.destination;
  o.keys = copy.keys;
  o.filter = copy.filter;
  o.retry = copy.retry;
  o.list_page_size = copy.list_page_size;
  o.list_concurrency = copy.list_concurrency;
  o.part_size = std::max<uint64_t>(5ull << 20, copy.part_size);
  o.workers = std::max(1, std::min(16, copy.concurrency / 4));
  return o;
}

Result<SyncReport> RunProcess(const ProcessOptions& options, const JobHost& host) {
  const auto start = std::chrono::steady_clock::now();
  Stats stats;
  stats.WatchObjects(host.on_object);
  std::atomic<bool> stop{false};
  s3::RequestFactory list_requests(options.source.client);
  std::unique_ptr<http::Transport> list_transport = host.transports(options.source.transport);
  auto source = OpenSource(options, *list_transport, list_requests, stop, stats);
  if (!source.ok()) return source.error();
  Processor processor(options, host, stats);
  std::mutex mu;
  std::optional<Error> fatal;
  auto work = [&] {
    while (!host.cancel.cancelled()) {
      StreamEntry e;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (fatal) return;
        auto more = (*source)->Next(&e);
        if (!more.ok()) fatal = more.error();
        if (!more.ok() || !*more) return;
        stats.listed++;
      }
      if (!options.filter.empty() && !options.filter.Included(e.rel)) {
        stats.excluded++;
        continue;
      }
      uint64_t bytes = 0;
      std::string landed;
      const std::string error = processor.One(e, &bytes, &landed);
      if (error.empty()) {
        stats.bytes_committed += bytes;
        stats.AddTransferred(landed, bytes, e.info.key, e.info.etag);
      } else if (error != "stopped") {
        stats.AddFailure(landed.empty() ? e.info.key : landed, error, e.info.key);
      }
    }
  };
  {
    Ticker progress(host.progress ? std::function<void()>([&] {
      host.progress(stats, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    })
                                  : std::function<void()>());
    std::vector<std::thread> workers;
    for (int i = 0; i < options.workers; ++i) workers.emplace_back(work);
    for (auto& t : workers) t.join();
  }
  SyncReport report;
  FillFromStats(report, stats);
  report.to_bucket = options.destination.has_value();
  report.fatal = fatal;
  report.interrupted = host.cancel.cancelled();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace riptide::engine
