// The service's event side: notices matched to jobs and stored, event runs that transfer
// exactly the keys the notices name (one key list, many transfers in flight), moves and
// the files table through the run's object sink, and removals of destination copies.
#include <algorithm>
#include <set>
#include <variant>

#include "apps/run_job.h"
#include "apps/serve/serve_log.h"
#include "apps/serve/service.h"
#include "engine/core/head_keys.h"
#include "engine/state/sqlite.h"
#include "transport/s3/xml.h"

namespace riptide::serve {

Result<Receipt> Service::Receive(const std::vector<Notice>& notices) {
  std::vector<MatchedNotice> matched;
  std::set<std::string> jobs;
  matched.reserve(notices.size());
  for (const auto& n : notices) {
    MatchedNotice m{n, {}};
    for (const auto& job : config_.jobs) {
      if (job.on_event && job.Covers(n.bucket, n.key)) m.jobs.push_back(job.name);
    }
    jobs.insert(m.jobs.begin(), m.jobs.end());
    matched.push_back(std::move(m));
  }
  auto receipt = events_.Receive(matched);
  if (!receipt.ok() || receipt->matched == 0) return receipt;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return receipt;  // stored: the next start runs them
  for (const auto& name : jobs) {
    Slot& slot = slots_.at(name);
    if (slot.queued != 0) continue;  // the queued run takes every pending notice
    if (auto t = TriggerLocked(slot, "event"); !t.ok()) ServeLog()->error("{}: {}", name, t.error().message);
  }
  return receipt;
}

Result<engine::SyncReport> Service::RunWithSink(const ServeJob& job, const engine::JobOptions& options,
                                                const std::shared_ptr<LiveRun>& live, bool keep_outcomes,
                                                std::map<std::string, ObjectOutcome>* outcomes) {
  engine::JobHost host = HostFor(live);
  auto run = [&job, &options](const engine::JobHost& h) -> Result<engine::SyncReport> {
    if (!job.process) return app::RunResolved(options, h);
    auto through = engine::ProcessOptionsOf(options, *job.process);
    if (!through.ok()) return through.error();
    return engine::RunProcess(*through, h);
  };
  if (!job.on_event && !job.move) return run(host);
  ObjectSink sink(job.name, events_, job.move ? MoveTargetOf(options) : std::nullopt, host, keep_outcomes);
  host.on_object = [log = host.on_object, &sink](const engine::ObjectEvent& e) {
    if (log) log(e);
    sink.Add(e);
  };
  host.report_unchanged = true;  // the files table, and downloads already in place may be moved
  auto report = run(host);
  auto handled = sink.Finish();
  if (outcomes) *outcomes = std::move(handled);
  if (job.move) ServeLog()->info("{}: {} source objects moved", job.name, sink.moved());
  return report;
}

Result<engine::SyncReport> Service::RunWhole(const ServeJob& job, const std::shared_ptr<LiveRun>& live) {
  auto options = Resolve(job.spec);
  if (!options.ok()) return options.error();
  // A move copies every source object again (each proven before its source goes), not
  // only those that differ: what is left in the source is what failed before.
  if (auto* copy = std::get_if<engine::CopyOptions>(&*options); copy && job.move) copy->compare = false;
  return RunWithSink(job, *options, live, false, nullptr);
}

namespace {

// The notices of one run by key: the newest notice of a key decides what is done with it.
struct Batch {
  std::vector<std::string> created;     // keys to transfer
  std::vector<ClaimedNotice> removed;   // the newest notice of each removed key
};

// Each claimed notice gets the outcome of its key: the removal that decided it, or the
// transfer of the object, or the run's fatal error.
std::vector<NoticeOutcome> Outcomes(const std::vector<ClaimedNotice>& claimed,
                                    const std::map<std::string, ObjectOutcome>& copied,
                                    const std::map<std::string, NoticeOutcome>& removed, const std::string& fatal) {
  std::vector<NoticeOutcome> results;
  for (const auto& c : claimed) {
    NoticeOutcome o{c.id, "failed", 0, fatal};
    if (auto r = removed.find(c.key); r != removed.end()) {
      o = r->second;
      o.id = c.id;
    } else if (auto t = copied.find(c.key); t != copied.end()) {
      o = {c.id, t->second.state, t->second.bytes, t->second.reason};
    }
    results.push_back(std::move(o));
  }
  return results;
}

Batch Split(const std::vector<ClaimedNotice>& claimed) {
  std::map<std::string, const ClaimedNotice*> newest;
  for (const auto& c : claimed) newest[c.key] = &c;
  Batch b;
  for (const auto& [key, c] : newest) {
    if (c->removed) b.removed.push_back(*c);
    else b.created.push_back(key);
  }
  return b;
}

}  // namespace

Result<engine::SyncReport> Service::RunEvents(Slot& slot, int64_t run_id, const std::shared_ptr<LiveRun>& live) {
  const ServeJob& job = *slot.job;
  auto claimed = events_.Claim(job.name, run_id, kEventBatch);
  if (!claimed.ok()) return claimed.error();
  const Batch batch = Split(*claimed);
  ServeLog()->info("run {} of {}: {} events, {} keys to transfer, {} removed", run_id, job.name, claimed->size(),
                   batch.created.size(), batch.removed.size());
  Result<engine::SyncReport> report = engine::SyncReport{};
  std::map<std::string, ObjectOutcome> outcomes;
  if (!batch.created.empty()) {
    engine::JobSpec spec = job.spec;
    spec.keys = batch.created;
    spec.keys_under_prefix = true;
    spec.delete_extraneous = false;
    spec.max_delete = -1;
    auto options = Resolve(spec);
    report = options.ok() ? RunWithSink(job, *options, live, true, &outcomes)
                          : Result<engine::SyncReport>(options.error());
  }
  std::vector<NoticeOutcome> results;
  if (report.ok() && report->interrupted) {
    // Stopped: the notices are owed still (a restart or the next event run takes them).
    for (const auto& c : *claimed) results.push_back({c.id, "pending", 0, {}});
  } else {
    std::map<std::string, NoticeOutcome> removals;
    if (report.ok()) removals = RemoveCopies(job, batch.removed, *report);
    const std::string fatal = !report.ok()      ? report.error().ToString()
                              : report->fatal ? report->fatal->ToString()
                                              : "not attempted";
    results = Outcomes(*claimed, outcomes, removals, fatal);
  }
  if (Status st = events_.Finish(job.name, run_id, results); !st.ok()) ServeLog()->error("{}", st.error().message);
  return report;
}

std::map<std::string, NoticeOutcome> Service::RemoveCopies(const ServeJob& job,
                                                           const std::vector<ClaimedNotice>& removed,
                                                           engine::SyncReport& report) {
  std::map<std::string, NoticeOutcome> outcomes;
  if (removed.empty()) return outcomes;
  if (!job.spec.delete_extraneous) {
    for (const auto& r : removed) outcomes[r.key] = {r.id, "done", 0, "the job keeps copies (delete is off)"};
    return outcomes;
  }
  auto options = Resolve(job.spec);
  const auto* copy = options.ok() ? std::get_if<engine::CopyOptions>(&*options) : nullptr;
  if (!copy || !copy->source) {
    // A dataset directory: a sync with delete removes local copies with its manifest.
    if (auto t = Trigger(job.name, "removal"); !t.ok()) ServeLog()->error("{}: {}", job.name, t.error().message);
    for (const auto& r : removed) outcomes[r.key] = {r.id, "done", 0, "removed by the next sync (delete: true)"};
    return outcomes;
  }
  // Only keys the source really lacks now: a newer upload may have followed the removal.
  std::vector<std::string> keys;
  for (const auto& r : removed) keys.push_back(r.key);
  auto src_transport = runtime_.Host().transports(copy->source->transport);
  auto dst_transport = runtime_.Host().transports(copy->destination.transport);
  s3::RequestFactory src_requests(copy->source->client), dst_requests(copy->destination.client);
  const engine::RetryScope scope{copy->retry, nullptr, nullptr};
  auto heads = engine::HeadKeys(*src_transport, src_requests, copy->source->bucket, keys, scope);
  std::vector<std::string> doomed;
  std::vector<EventStore::FileUpdate> files;
  const int64_t now = engine::sql::NowMs();
  for (size_t i = 0; i < removed.size(); ++i) {
    if (heads[i].ok()) {
      outcomes[keys[i]] = {removed[i].id, "kept", 0, "kept: the source has the object again"};
    } else if (heads[i].error().code != ErrorCode::kNotFound) {
      outcomes[keys[i]] = {removed[i].id, "failed", 0, heads[i].error().ToString()};
    } else {
      doomed.push_back(copy->destination.prefix + keys[i].substr(copy->source->prefix.size()));
      outcomes[keys[i]] = {removed[i].id, "done", 0, {}};
      files.push_back({keys[i], std::nullopt, FileSide{0, -1, now}});
    }
  }
  for (size_t begin = 0; begin < doomed.size(); begin += 1000) {
    std::vector<std::string> part(doomed.begin() + static_cast<std::ptrdiff_t>(begin),
                                  doomed.begin() + static_cast<std::ptrdiff_t>(std::min(doomed.size(), begin + 1000)));
    auto r = engine::CallAndWait(
        *dst_transport, scope, [&] { return dst_requests.DeleteObjects(copy->destination.bucket, part); }, nullptr);
    auto failures = r.ok() ? s3::ParseDeleteResult(r->body) : Result<std::vector<s3::DeleteFailure>>(r.error());
    if (!failures.ok()) {
      ServeLog()->error("{}: cannot delete {} destination copies: {}", job.name, part.size(),
                        failures.error().ToString());
      for (auto& [key, o] : outcomes) {
        if (o.state == "done") o = {o.id, "failed", 0, failures.error().ToString()};
      }
      return outcomes;
    }
    report.deleted += part.size() - failures->size();
  }
  if (Status st = events_.UpdateFiles(job.name, files); !st.ok()) ServeLog()->error("{}", st.error().message);
  return outcomes;
}

}  // namespace riptide::serve
