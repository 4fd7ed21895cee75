// What the service's endpoints say, as text: JSON for runs, jobs and stats, Prometheus
// exposition text for metrics, and the plain HTML history pages. Pure rendering: the
// callers read the store and the service.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apps/serve/service.h"
#include "apps/serve/service_store.h"

namespace riptide::serve {

/// "2026-11-29T10:15:00.123Z"; "" for 0.
std::string IsoTime(int64_t ms);
/// & < > " ' as entities: a key is always text.
std::string HtmlEscape(const std::string& text);

nlohmann::json RunJson(const RunRow& run, const std::optional<LiveCounters>& live);
nlohmann::json JobJson(const JobView& view, const std::optional<RunRow>& last);
nlohmann::json StatsJson(const std::map<std::string, JobTotals>& totals, const std::vector<JobView>& jobs);

/// Prometheus text format 0.0.4.
struct ServiceGauges {
  int requests_in_flight = 0;  // slots held of the shared concurrency
  int concurrency = 0;
};
std::string MetricsText(const std::map<std::string, JobTotals>& totals, const std::vector<JobView>& jobs,
                        const ServiceGauges& gauges);

struct RunWithObjects {
  RunRow run;
  std::vector<ObjectRow> objects;  // the first few (the page links to the rest)
};
/// The start of a page: doctype, title, the shared style, <body>.
std::string PageStart(const std::string& title);
/// The history page: `events` (a section of object events, HTML), then runs newest
/// first, `page` of `pages` (1-based).
std::string HistoryHtml(const std::vector<RunWithObjects>& runs, int page, int pages, const std::string& events);
/// One run with every object it recorded.
std::string RunHtml(const RunRow& run, const std::vector<ObjectRow>& objects);

}  // namespace riptide::serve
