#include "apps/serve/views.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "apps/format.h"

namespace riptide::serve {
namespace {

using app::HumanBytes;

int64_t ToMs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

double Seconds(const RunRow& r) {
  return r.started_ms > 0 && r.ended_ms >= r.started_ms ? static_cast<double>(r.ended_ms - r.started_ms) / 1000.0 : 0;
}

// A Prometheus label value: backslash, quote and newline escaped.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

const char* kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#17702a}.failed,.partial{color:#b00020}.interrupted,.cancelled{color:#9a6700}
.running,.queued,.pending{color:#1a5fb4}.done{color:#17702a}.gone,.kept{color:#9a6700}ul.objects{margin:.2em 0;padding-left:1.2em}code{font-size:13px}
nav a{margin-right:1em}
</style>)";

std::string ObjectItem(const ObjectRow& o) {
  return "<li class=\"" + std::string(o.ok ? "ok" : "failed") + "\"><code>" + HtmlEscape(o.key) + "</code> " +
         (o.ok ? "transferred" : "failed") + " " + HumanBytes(static_cast<double>(o.bytes)) + " at " + IsoTime(o.at_ms) +
         (o.ok ? "" : ": " + HtmlEscape(o.reason)) + "</li>";
}

std::string RunRowHtml(const RunRow& r) {
  return "<td><a href=\"/events/history/" + std::to_string(r.id) + "\">" + std::to_string(r.id) + "</a></td><td>" +
         HtmlEscape(r.job) + "</td><td>" + HtmlEscape(r.trigger) + (r.triggers > 1 ? " ×" + std::to_string(r.triggers) : "") +
         "</td><td>" + HtmlEscape(r.kind) + "</td><td>" + IsoTime(r.received_ms) + "</td><td class=\"" +
         HtmlEscape(r.state) + "\">" + HtmlEscape(r.state) + "</td><td>" + std::to_string(r.transferred) + "</td><td>" +
         std::to_string(r.failed) + "</td><td>" + HumanBytes(static_cast<double>(r.bytes)) + "</td>";
}

const char* kRunHeader =
    "<tr><th>run</th><th>job</th><th>trigger</th><th>kind</th><th>received</th><th>status</th>"
    "<th>transferred</th><th>failed</th><th>bytes</th></tr>";

}  // namespace

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string HtmlEscape(const std::string& text) {
  // HTML's own entities (&#39;, not XML's &apos;, which HTML 4 lacks).
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

nlohmann::json RunJson(const RunRow& r, const std::optional<LiveCounters>& live) {
  nlohmann::json j = {{"id", r.id},
                      {"job", r.job},
                      {"trigger", r.trigger},
                      {"triggers", r.triggers},
                      {"kind", r.kind},
                      {"state", r.state},
                      {"received_at", IsoTime(r.received_ms)},
                      {"started_at", IsoTime(r.started_ms)},
                      {"ended_at", IsoTime(r.ended_ms)},
                      {"seconds", Seconds(r)},
                      {"listed", r.listed},
                      {"transferred", r.transferred},
                      {"skipped", r.skipped},
                      {"failed", r.failed},
                      {"deleted", r.deleted},
                      {"bytes", r.bytes},
                      {"retries", r.retries},
                      {"throttled", r.throttled},
                      {"error", r.error}};
  // Live counters only while the row says it runs: a run's final row is written before
  // its slot lets go of it, and its counters may not have had a tick yet.
  if (live && r.state == "running") {
    j["listed"] = live->listed;
    j["transferred"] = live->transferred;
    j["skipped"] = live->skipped;
    j["failed"] = live->failed;
    j["bytes"] = live->bytes;
    j["retries"] = live->retries;
    j["throttled"] = live->throttled;
    j["seconds"] = live->seconds;
    j["concurrency"] = live->concurrency;  // requests allowed in flight now
  }
  const double secs = j["seconds"].get<double>();
  j["bytes_per_second"] = secs > 0 ? static_cast<double>(j["bytes"].get<uint64_t>()) / secs : 0.0;
  return j;
}

nlohmann::json JobJson(const JobView& v, const std::optional<RunRow>& last) {
  nlohmann::json j = {{"name", v.job->name},
                      {"source", v.job->spec.source},
                      {"destination", v.job->spec.destination},
                      {"schedule", v.job->schedule.Describe()},
                      {"state", v.state},
                      {"next_run", v.next ? IsoTime(ToMs(*v.next)) : ""},
                      {"running_run", v.running},
                      {"queued_run", v.queued},
                      {"delete", v.job->spec.delete_extraneous}};
  j["last_run"] = last ? RunJson(*last, std::nullopt) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json StatsJson(const std::map<std::string, JobTotals>& totals, const std::vector<JobView>& jobs) {
  nlohmann::json by_trigger = nlohmann::json::object();
  nlohmann::json per_job = nlohmann::json::object();
  uint64_t succeeded = 0, failed = 0, objects = 0, bytes = 0, failures = 0;
  for (const auto& view : jobs) {
    auto it = totals.find(view.job->name);
    const JobTotals empty;
    const JobTotals& t = it == totals.end() ? empty : it->second;
    nlohmann::json runs = nlohmann::json::object();
    for (const auto& [state, n] : t.runs_by_state) runs[state] = n;
    per_job[view.job->name] = {{"runs", runs},
                               {"objects_transferred", t.transferred},
                               {"bytes_transferred", t.bytes},
                               {"object_failures", t.failed},
                               {"retries", t.retries},
                               {"slowdowns", t.throttled},
                               {"deleted", t.deleted},
                               {"last_success", IsoTime(t.last_success_ms)},
                               {"state", view.state}};
    for (const auto& [key, n] : t.runs_by_trigger) {
      auto& slot = by_trigger[key.first];
      if (slot.is_null()) slot = {{"succeeded", 0}, {"failed", 0}};
      slot[key.second ? "succeeded" : "failed"] = slot[key.second ? "succeeded" : "failed"].get<uint64_t>() + n;
      (key.second ? succeeded : failed) += n;
    }
    objects += t.transferred;
    bytes += t.bytes;
    failures += t.failed;
  }
  return {{"runs", {{"succeeded", succeeded}, {"failed", failed}}},
          {"runs_by_trigger", by_trigger},
          {"objects_transferred", objects},
          {"bytes_transferred", bytes},
          {"object_failures", failures},
          {"jobs", per_job}};
}

namespace {

// One job's run-duration histogram, cumulative buckets as Prometheus wants them.
void AppendDurations(std::string& out, const std::string& name, const JobTotals& t) {
  const std::string job = Label(name);
  for (size_t b = 0; b < kDurationBuckets.size(); ++b) {
    out += "riptide_run_duration_seconds_bucket{job=\"" + job + "\",le=\"" + std::to_string(kDurationBuckets[b]) +
           "\"} " + std::to_string(t.runs_within[b]) + "\n";
  }
  out += "riptide_run_duration_seconds_bucket{job=\"" + job + "\",le=\"+Inf\"} " + std::to_string(t.timed_runs) + "\n";
  out += "riptide_run_duration_seconds_sum{job=\"" + job + "\"} " + Number(t.run_seconds) + "\n";
  out += "riptide_run_duration_seconds_count{job=\"" + job + "\"} " + std::to_string(t.timed_runs) + "\n";
}

// riptide_runs_total by job and result; ok, partial and failed always present.
void AppendRunsByResult(std::string& out, const std::map<std::string, JobTotals>& totals,
                        const std::vector<JobView>& jobs) {
  for (const auto& view : jobs) {
    auto it = totals.find(view.job->name);
    std::map<std::string, uint64_t> states = {{"ok", 0}, {"partial", 0}, {"failed", 0}};
    if (it != totals.end()) {
      for (const auto& [s, n] : it->second.runs_by_state) states[s] = n;
    }
    for (const auto& [s, n] : states) {
      out += "riptide_runs_total{job=\"" + Label(view.job->name) + "\",result=\"" + Label(s) + "\"} " +
             std::to_string(n) + "\n";
    }
  }
}

}  // namespace

std::string MetricsText(const std::map<std::string, JobTotals>& totals, const std::vector<JobView>& jobs,
                        const ServiceGauges& gauges) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto each_job = [&](const char* name, auto value) {
    for (const auto& view : jobs) {
      auto it = totals.find(view.job->name);
      const JobTotals empty;
      out += std::string(name) + "{job=\"" + Label(view.job->name) + "\"} " +
             value(it == totals.end() ? empty : it->second, view) + "\n";
    }
  };
  family("riptide_runs_total", "counter", "Runs finished, by job and result.");
  AppendRunsByResult(out, totals, jobs);
  // The per-job counters, in one table.
  static const struct {
    const char* name;
    const char* help;
    uint64_t JobTotals::*field;
  } kCounters[] = {
      {"riptide_objects_transferred_total", "Objects transferred and verified.", &JobTotals::transferred},
      {"riptide_bytes_transferred_total", "Bytes of the objects transferred.", &JobTotals::bytes},
      {"riptide_object_failures_total", "Objects that failed in a run.", &JobTotals::failed},
      {"riptide_retries_total", "Requests and objects retried (SlowDown, 5xx, resets, mismatches).",
       &JobTotals::retries},
      {"riptide_slowdowns_total", "Of the retries, answers asking to slow down (503 SlowDown, 429).",
       &JobTotals::throttled},
      {"riptide_deleted_total", "Objects or files deleted because the source no longer has them.",
       &JobTotals::deleted},
  };
  for (const auto& c : kCounters) {
    family(c.name, "counter", c.help);
    each_job(c.name, [&c](const JobTotals& t, const JobView&) { return std::to_string(t.*c.field); });
  }
  family("riptide_last_success_timestamp_seconds", "gauge", "When the last run that succeeded ended (0: never).");
  each_job("riptide_last_success_timestamp_seconds",
           [](const JobTotals& t, const JobView&) { return Number(static_cast<double>(t.last_success_ms) / 1000.0); });
  family("riptide_job_running", "gauge", "1 while a run of the job is in progress.");
  each_job("riptide_job_running", [](const JobTotals&, const JobView& v) { return std::string(v.running ? "1" : "0"); });
  family("riptide_job_queued", "gauge", "1 while a run of the job waits to start.");
  each_job("riptide_job_queued", [](const JobTotals&, const JobView& v) { return std::string(v.queued ? "1" : "0"); });
  family("riptide_job_concurrency", "gauge",
         "Requests the job's running run may have in flight now (concurrency: auto moves it); 0 when idle.");
  each_job("riptide_job_concurrency", [](const JobTotals&, const JobView& v) { return std::to_string(v.concurrency); });
  family("riptide_requests_in_flight", "gauge", "Request slots held by running jobs, all jobs together.");
  out += "riptide_requests_in_flight " + std::to_string(gauges.requests_in_flight) + "\n";
  family("riptide_concurrency_limit", "gauge", "Requests in flight allowed to all jobs together.");
  out += "riptide_concurrency_limit " + std::to_string(gauges.concurrency) + "\n";
  family("riptide_run_duration_seconds", "histogram", "How long finished runs took.");
  for (const auto& view : jobs) {
    auto it = totals.find(view.job->name);
    AppendDurations(out, view.job->name, it == totals.end() ? JobTotals() : it->second);
  }
  return out;
}

std::string PageStart(const std::string& title) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + HtmlEscape(title) + "</title>" + kStyle +
         "</head><body>";
}

std::string HistoryHtml(const std::vector<RunWithObjects>& runs, int page, int pages, const std::string& events) {
  std::string html = PageStart("riptide: history");
  html += "<h1>riptide history</h1>" + events + "<h2>Runs</h2><p>Newest first. Page " + std::to_string(page) + " of " +
          std::to_string(std::max(1, pages)) + ".</p><table id=\"runs\">";
  html += kRunHeader;
  for (const auto& r : runs) {
    html += "<tr class=\"run\" id=\"run-" + std::to_string(r.run.id) + "\">" + RunRowHtml(r.run) + "</tr>";
    if (!r.objects.empty() || !r.run.error.empty()) {
      html += "<tr><td></td><td colspan=\"8\">";
      if (!r.run.error.empty()) html += "<p class=\"failed\">" + HtmlEscape(r.run.error) + "</p>";
      html += "<ul class=\"objects\">";
      for (const auto& o : r.objects) html += ObjectItem(o);
      const uint64_t recorded = r.run.transferred + r.run.failed;
      if (recorded > r.objects.size()) {
        html += "<li><a href=\"/events/history/" + std::to_string(r.run.id) + "\">and " +
                std::to_string(recorded - r.objects.size()) + " more</a></li>";
      }
      html += "</ul></td></tr>";
    }
  }
  html += "</table><nav>";
  if (page > 1) html += "<a rel=\"prev\" href=\"/events/history?page=" + std::to_string(page - 1) + "\">newer</a>";
  if (page < pages) html += "<a rel=\"next\" href=\"/events/history?page=" + std::to_string(page + 1) + "\">older</a>";
  html += "</nav></body></html>\n";
  return html;
}

std::string RunHtml(const RunRow& run, const std::vector<ObjectRow>& objects) {
  std::string html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>riptide: run " +
                     std::to_string(run.id) + "</title>";
  html += kStyle;
  html += "</head><body><nav><a href=\"/events/history\">history</a></nav><h1>Run " + std::to_string(run.id) + " of " +
          HtmlEscape(run.job) + "</h1><table>" + std::string(kRunHeader) + "<tr class=\"run\">" + RunRowHtml(run) +
          "</tr></table>";
  html += "<p>Received " + IsoTime(run.received_ms) + ", started " + IsoTime(run.started_ms) + ", ended " +
          IsoTime(run.ended_ms) + ". Listed " + std::to_string(run.listed) + ", unchanged " +
          std::to_string(run.skipped) + ", deleted " + std::to_string(run.deleted) + ", retries " +
          std::to_string(run.retries) + ".</p>";
  if (!run.error.empty()) html += "<p class=\"failed\">" + HtmlEscape(run.error) + "</p>";
  html += "<h2>Objects</h2><ul class=\"objects\" id=\"objects\">";
  for (const auto& o : objects) html += ObjectItem(o);
  html += "</ul>";
  if (run.transferred + run.failed > objects.size()) {
    html += "<p>Only the first " + std::to_string(objects.size()) + " objects are kept.</p>";
  }
  html += "</body></html>\n";
  return html;
}

}  // namespace riptide::serve
