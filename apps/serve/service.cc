#include "apps/serve/service.h"

#include <algorithm>

#include "apps/run_job.h"
#include "apps/serve/serve_log.h"
#include "engine/state/sqlite.h"

namespace riptide::serve {

struct Service::LiveRun {
  int64_t id = 0;
  std::string trigger;
  std::atomic<bool> cancel{false};
  std::atomic<bool> cancelled_by_user{false};
  mutable std::mutex mu;  // guards what follows
  LiveCounters counters;
  std::vector<ObjectRow> objects;
  uint64_t objects_seen = 0;
};

Service::Service(const ServeConfig& config, ServiceStore& store, EventStore& events,
                 const engine::ProcessRuntime& runtime, const s3::ConfigSources& sources)
    : config_(config), store_(store), events_(events), runtime_(runtime), sources_(sources),
      shared_requests_(config.concurrency),
      shared_memory_mib_(static_cast<int>(std::max<uint64_t>(1, config.memory_limit >> 20))) {
  for (const auto& job : config_.jobs) slots_[job.name].job = &job;
  if (!config_.bwlimit.empty()) {
    if (auto limits = engine::MakeBandwidthLimits(config_.bwlimit); limits.ok()) {
      send_limit_ = limits->first;
      receive_limit_ = limits->second;
    }
  }
}

Result<engine::JobOptions> Service::Resolve(const engine::JobSpec& spec) {
  auto options = engine::ResolveJob(spec, sources_, runtime_.Host().transports);
  if (options.ok() && (send_limit_ || receive_limit_)) engine::ShareBandwidth(*options, send_limit_, receive_limit_);
  return options;
}

Service::~Service() { Shutdown(std::chrono::seconds(0)); }

Status Service::Start() {
  auto interrupted = store_.RecoverInterrupted();
  if (!interrupted.ok()) return interrupted.error();
  for (int64_t id : *interrupted) ServeLog()->warn("run {} was cut short by a restart: recorded as interrupted", id);
  auto queued = store_.Queued();
  if (!queued.ok()) return queued.error();
  if (Status st = events_.Recover(); !st.ok()) return st.error();
  auto pending = events_.PendingJobs();
  if (!pending.ok()) return pending.error();
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  for (const auto& name : *pending) {  // accepted before the restart, not yet transferred
    auto it = slots_.find(name);
    if (it == slots_.end() || !it->second.job->on_event || queued->count(name)) continue;
    if (auto t = TriggerLocked(it->second, "event"); !t.ok()) return t.error();
  }
  for (auto& [name, slot] : slots_) {
    slot.next = slot.job->schedule.Next(now);
    if (auto it = queued->find(name); it != queued->end()) {
      slot.queued = it->second.first;  // accepted before the restart: still owed
      slot.queued_trigger = it->second.second;
      continue;
    }
    // Event jobs sweep on their schedule or when asked, not because the service started.
    if (slot.queued != 0 || slot.job->on_event) continue;
    auto synced = store_.HasSynced(name);
    if (!synced.ok()) return synced.error();
    auto last = store_.Recent(name, 1, 0);
    if (!last.ok()) return last.error();
    const bool resume = !last->empty() && last->front().state == "interrupted";
    if (!*synced || resume) {
      auto t = TriggerLocked(slot, "startup");
      if (!t.ok()) return t.error();
    }
  }
  dispatcher_ = std::thread([this] { Dispatch(); });
  return OkStatus();
}

Result<Service::Triggered> Service::TriggerLocked(Slot& slot, const std::string& trigger) {
  if (slot.queued != 0) {
    if (Status st = store_.Coalesce(slot.queued); !st.ok()) return st.error();
    // A sweep asked while only events wait: the queued run becomes the sweep (the events
    // get a run of their own after it).
    if (slot.queued_trigger == "event" && trigger != "event") {
      if (Status st = store_.Retrigger(slot.queued, trigger); !st.ok()) return st.error();
      slot.queued_trigger = trigger;
    }
    return Triggered{slot.queued, true};
  }
  auto id = store_.Enqueue(slot.job->name, trigger);
  if (!id.ok()) return id.error();
  slot.queued = *id;
  slot.queued_trigger = trigger;
  cv_.notify_all();
  return Triggered{*id, false};
}

Result<Service::Triggered> Service::Trigger(const std::string& job, const std::string& trigger) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(job);
  if (it == slots_.end()) return MakeError(ErrorCode::kNotFound, "no job called '" + job + "'");
  if (stopping_) return MakeError(ErrorCode::kCancelled, "the service is shutting down");
  return TriggerLocked(it->second, trigger);
}

Service::CancelOutcome Service::Cancel(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, slot] : slots_) {
    if (slot.running && slot.running->id == run_id) {
      slot.running->cancelled_by_user = true;
      slot.running->cancel = true;
      return CancelOutcome::kCancelled;
    }
    if (slot.queued == run_id) {
      slot.queued = 0;
      if (Status st = store_.Close(run_id, "cancelled", "cancelled before it started"); !st.ok()) {
        ServeLog()->warn("{}", st.error().message);
      }
      return CancelOutcome::kCancelled;
    }
  }
  auto row = store_.Get(run_id);
  return row.ok() && row->has_value() ? CancelOutcome::kAlreadyEnded : CancelOutcome::kNotFound;
}

std::vector<JobView> Service::Jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobView> views;
  for (const auto& job : config_.jobs) {
    const Slot& slot = slots_.at(job.name);
    JobView v;
    v.job = &job;
    v.running = slot.running ? slot.running->id : 0;
    v.queued = slot.queued;
    v.state = slot.running ? "running" : slot.queued ? "queued" : "idle";
    v.next = slot.next;
    if (slot.running) {
      std::lock_guard<std::mutex> live(slot.running->mu);
      v.concurrency = slot.running->counters.concurrency;
    }
    views.push_back(v);
  }
  return views;
}

std::optional<LiveCounters> Service::Live(int64_t run_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, slot] : slots_) {
    if (slot.running && slot.running->id == run_id) {
      std::lock_guard<std::mutex> live_lock(slot.running->mu);
      return slot.running->counters;
    }
  }
  return std::nullopt;
}

int Service::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void Service::Dispatch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    std::optional<Clock::time_point> wake;
    for (auto& [name, slot] : slots_) {
      if (slot.next && *slot.next <= now) {
        if (auto t = TriggerLocked(slot, "schedule"); !t.ok()) ServeLog()->error("{}: {}", name, t.error().message);
        slot.next = slot.job->schedule.Next(now);
      }
      if (slot.next && (!wake || *slot.next < *wake)) wake = slot.next;
    }
    for (auto& item : slots_) {  // not a structured binding: clang before 16 cannot capture one
      auto& slot = item.second;
      if (running_ >= config_.max_parallel_jobs) break;
      if (slot.queued == 0 || slot.running) continue;
      if (slot.worker.joinable()) slot.worker.join();  // the last run's thread, already ending
      auto live = std::make_shared<LiveRun>();
      live->id = std::exchange(slot.queued, 0);
      live->trigger = slot.queued_trigger;
      slot.running = live;
      ++running_;
      slot.worker = std::thread([this, &slot, live] { Execute(slot, live->id, live); });
    }
    if (wake) {
      cv_.wait_until(lock, *wake);
    } else {
      cv_.wait(lock);
    }
  }
}

engine::JobHost Service::HostFor(const std::shared_ptr<LiveRun>& live) {
  engine::JobHost host = runtime_.Host(engine::CancelToken(&live->cancel), [live](const engine::Stats& s, double t) {
    std::lock_guard<std::mutex> lock(live->mu);
    live->counters = {s.listed,  s.transferred, s.skipped, s.failed,     s.bytes_committed,
                      s.retries, s.throttled,   t,         s.concurrency};
  });
  host.shared_requests = &shared_requests_;
  host.shared_memory_mib = &shared_memory_mib_;
  host.on_object = [live](const engine::ObjectEvent& e) {
    if (e.unchanged) return;
    std::lock_guard<std::mutex> lock(live->mu);
    if (++live->objects_seen <= ServiceStore::kMaxObjects) {
      live->objects.push_back({e.key, e.ok, e.bytes, engine::sql::NowMs(), e.reason});
    }
  };
  return host;
}

void Service::Record(const ServeJob& job, int64_t run_id, LiveRun& live, const Result<engine::SyncReport>& report) {
  std::vector<ObjectRow> objects;
  {
    std::lock_guard<std::mutex> lock(live.mu);
    objects.swap(live.objects);
  }
  if (Status st = store_.RecordObjects(run_id, objects); !st.ok()) ServeLog()->error("{}", st.error().message);
  if (!report.ok()) {
    ServeLog()->error("run {} of {} failed: {}", run_id, job.name, report.error().ToString());
    if (Status st = store_.Close(run_id, "failed", report.error().ToString()); !st.ok()) {
      ServeLog()->error("{}", st.error().message);
    }
    return;
  }
  const std::string state = live.cancelled_by_user && report->interrupted ? "cancelled" : report->Outcome();
  const std::string error = report->fatal ? report->fatal->ToString() : "";
  if (Status st = store_.Finish(run_id, *report, state, error); !st.ok()) ServeLog()->error("{}", st.error().message);
  ServeLog()->info("run {} of {} ended {}: {} transferred, {} unchanged, {} failed, {} deleted, {} bytes in {:.1f} s",
                   run_id, job.name, state, report->transferred, report->skipped, report->failed, report->deleted,
                   report->bytes, report->seconds);
}

void Service::Execute(Slot& slot, int64_t run_id, std::shared_ptr<LiveRun> live) {
  const ServeJob& job = *slot.job;
  auto synced = store_.HasSynced(job.name);
  const std::string kind = synced.ok() && *synced ? "incremental" : "initial";
  if (Status st = store_.Start(run_id, kind); !st.ok()) ServeLog()->error("{}", st.error().message);
  ServeLog()->info("run {} of {} started ({} sync of {} into {})", run_id, job.name, kind, job.spec.source,
                   job.spec.destination);
  Record(job, run_id, *live, live->trigger == "event" ? RunEvents(slot, run_id, live) : RunWhole(job, live));
  std::lock_guard<std::mutex> lock(mu_);
  slot.running.reset();
  --running_;
  // Events that came during the run (or more than one batch): the next event run.
  if (job.on_event && !stopping_ && slot.queued == 0) {
    auto pending = events_.PendingJobs();
    if (pending.ok() && std::find(pending->begin(), pending->end(), job.name) != pending->end()) {
      if (auto t = TriggerLocked(slot, "event"); !t.ok()) ServeLog()->error("{}: {}", job.name, t.error().message);
    }
  }
  cv_.notify_all();
}

bool Service::Shutdown(std::chrono::seconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!stopping_) {
    stopping_ = true;
    for (auto& [name, slot] : slots_) {
      if (slot.running) slot.running->cancel = true;
    }
    cv_.notify_all();
  }
  const bool ended = cv_.wait_for(lock, timeout, [this] { return running_ == 0; });
  lock.unlock();
  if (dispatcher_.joinable()) dispatcher_.join();
  if (!ended) {
    // Those still running are recorded now; the next start resumes them.
    std::lock_guard<std::mutex> relock(mu_);
    for (auto& [name, slot] : slots_) {
      if (!slot.running) continue;
      if (Status st = store_.Close(slot.running->id, "interrupted", "the service stopped during the run"); !st.ok()) {
        ServeLog()->error("{}", st.error().message);
      }
      if (slot.worker.joinable()) slot.worker.detach();
    }
    return false;
  }
  for (auto& [name, slot] : slots_) {
    if (slot.worker.joinable()) slot.worker.join();
  }
  return true;
}

}  // namespace riptide::serve
