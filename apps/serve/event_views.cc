#include "apps/serve/event_views.h"

#include "apps/serve/views.h"

namespace riptide::serve {
namespace {

nlohmann::json SideJson(const FileSide& s) {
  nlohmann::json j = {{"present", s.present < 0 ? nlohmann::json() : nlohmann::json(s.present == 1)}};
  if (s.size >= 0) j["size"] = s.size;
  if (s.at_ms > 0) j["seen"] = IsoTime(s.at_ms);
  return j;
}

std::string SideHtml(const FileSide& s) {
  if (s.present < 0) return "<td class=\"unknown\">unknown</td>";
  if (s.present == 0) return "<td class=\"gone\">absent <small>" + IsoTime(s.at_ms) + "</small></td>";
  return "<td class=\"ok\">present" + (s.size >= 0 ? " " + std::to_string(s.size) + " B" : std::string()) +
         " <small>" + IsoTime(s.at_ms) + "</small></td>";
}

std::string Query(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

nlohmann::json CountersJson(const NoticeCounters& c) {
  return {{"received", c.received},   {"duplicate", c.duplicate}, {"unmatched", c.unmatched},
          {"pending", c.pending},     {"succeeded", c.succeeded}, {"failed", c.failed},
          {"gone", c.gone},           {"kept", c.kept}};
}

nlohmann::json NoticesJson(const std::vector<NoticeRow>& notices) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : notices) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& j : n.jobs) {
      jobs.push_back({{"job", j.job}, {"state", j.state}, {"reason", j.reason}, {"run_id", j.run},
                      {"ended", IsoTime(j.ended_ms)}});
    }
    list.push_back({{"id", n.id}, {"received", IsoTime(n.received_ms)}, {"format", n.format}, {"bucket", n.bucket},
                    {"key", n.key}, {"kind", n.kind}, {"etag", n.etag}, {"deliveries", n.deliveries},
                    {"jobs", jobs}});
  }
  return list;
}

std::string NoticesHtml(const std::vector<NoticeRow>& notices) {
  std::string html = "<h2>Object events</h2><table id=\"events\"><tr><th>#</th><th>received</th><th>event</th>"
                     "<th>object</th><th>files, by job</th></tr>";
  for (const auto& n : notices) {
    html += "<tr class=\"event\" id=\"event-" + std::to_string(n.id) + "\"><td>" + std::to_string(n.id) + "</td><td>" +
            IsoTime(n.received_ms) + "</td><td>" + HtmlEscape(n.kind) + " (" + HtmlEscape(n.format) +
            (n.deliveries > 1 ? ", delivered " + std::to_string(n.deliveries) + "×" : std::string()) + ")</td><td><code>" +
            HtmlEscape(n.bucket) + "/" + HtmlEscape(n.key) + "</code></td><td>";
    if (n.jobs.empty()) html += "<span class=\"unmatched\">matched no job</span>";
    html += "<ul class=\"objects\">";
    for (const auto& j : n.jobs) {
      html += "<li class=\"" + HtmlEscape(j.state) + "\">" + HtmlEscape(j.job) + ": " + HtmlEscape(j.state) +
              (j.ended_ms ? " at " + IsoTime(j.ended_ms) : std::string()) +
              (j.run ? " (<a href=\"/events/history/" + std::to_string(j.run) + "\">run " + std::to_string(j.run) +
                           "</a>)"
                     : std::string()) +
              (j.reason.empty() ? std::string() : ": " + HtmlEscape(j.reason)) + "</li>";
    }
    html += "</ul></td></tr>";
  }
  return html + "</table>";
}

nlohmann::json FilesJson(const FilesPage& page) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : page.rows) {
    files.push_back({{"key", f.key}, {"source", SideJson(f.source)}, {"destination", SideJson(f.destination)}});
  }
  nlohmann::json j = {{"job", page.job}, {"prefix", page.prefix}, {"files", files}};
  if (!page.next.empty()) j["next"] = "/files?job=" + Query(page.job) + "&prefix=" + Query(page.prefix) +
                                      "&after=" + Query(page.next);
  return j;
}

std::string FilesHtml(const FilesPage& page) {
  std::string html = PageStart("riptide: files of " + page.job);
  html += "<nav><a href=\"/events/history\">history</a></nav><h1>Files of " + HtmlEscape(page.job) + "</h1>";
  if (!page.prefix.empty()) html += "<p>Keys from <code>" + HtmlEscape(page.prefix) + "</code>.</p>";
  html += "<table id=\"files\"><tr><th>key</th><th>source</th><th>destination</th></tr>";
  for (const auto& f : page.rows) {
    html += "<tr class=\"file\"><td><code>" + HtmlEscape(f.key) + "</code></td>" + SideHtml(f.source) +
            SideHtml(f.destination) + "</tr>";
  }
  html += "</table><nav>";
  if (!page.next.empty()) {
    html += "<a rel=\"next\" href=\"/files?job=" + Query(page.job) + "&amp;prefix=" + Query(page.prefix) +
            "&amp;after=" + Query(page.next) + "\">next</a>";
  }
  return html + "</nav></body></html>\n";
}

}  // namespace riptide::serve
