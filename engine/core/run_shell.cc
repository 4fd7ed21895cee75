#include "engine/core/run_shell.h"

namespace riptide::engine {
namespace {
// A cancel is noticed within one tick; progress is drawn every fifth.
constexpr std::chrono::milliseconds kTick{100};
constexpr int kTicksPerProgress = 5;
}  // namespace

void FillFromStats(SyncReport& report, const Stats& stats) {
  report.listed = stats.listed;
  report.transferred = stats.transferred;
  report.skipped = stats.skipped;
  report.failed = stats.failed;
  report.retries = stats.retries;
  report.throttled = stats.throttled;
  report.bytes = stats.bytes_committed;
  report.excluded = stats.excluded;
  report.concurrency = stats.concurrency;
  report.concurrency_peak = stats.concurrency_peak;
  report.concurrency_auto = stats.concurrency_auto;
  if (report.dry_run) {
    report.would_transfer = stats.planned;
    report.would_transfer_new = stats.planned_new;
    report.would_transfer_bytes = stats.bytes_planned;
  }
  report.failures = stats.Failures();
}

RunShell::RunShell(const JobHost& host, const Stats& stats) : host_(host), stats_(stats) {}

void RunShell::Fail(Error e) {
  {
    std::lock_guard<std::mutex> lock(fatal_mu_);
    if (!fatal_) fatal_ = std::move(e);
  }
  stop_ = true;
}

std::optional<Error> RunShell::fatal() const {
  std::lock_guard<std::mutex> lock(fatal_mu_);
  return fatal_;
}

double RunShell::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void RunShell::Fill(SyncReport& report) const {
  FillFromStats(report, stats_);
  report.fatal = fatal();
  report.interrupted = interrupted();
  report.seconds = seconds();
}

// The hooks run on every tick while stopping: each is idempotent, and work submitted
// after the first cancel is cancelled too.
void RunShell::Tick() {
  if (host_.cancel.cancelled()) stop_ = true;
  if (stop_) {
    for (const auto& fn : on_stop_) fn();
  } else {
    for (const auto& fn : on_tick_) fn();
  }
  if (host_.progress && ++ticks_ % kTicksPerProgress == 0) host_.progress(stats_, seconds());
}

RunShell::Ticking::Ticking(RunShell& shell) : ticker_(std::make_unique<Ticker>([&shell] { shell.Tick(); }, kTick)) {}

RunShell::Ticking::~Ticking() = default;

}  // namespace riptide::engine
