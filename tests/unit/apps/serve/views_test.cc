#include "apps/serve/views.h"

#include <gtest/gtest.h>

#include "apps/serve/http_api.h"

namespace riptide::serve {
namespace {

TEST(Views, KeysAreTextInHtml) {
  EXPECT_EQ(HtmlEscape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  RunRow run;
  run.id = 7;
  run.job = "j";
  run.state = "partial";
  run.transferred = 1;
  run.failed = 1;
  run.error = "<b>boom</b>";
  std::vector<ObjectRow> objects = {{"a/<img src=x onerror=alert(1)>", true, 10, 1000, ""},
                                    {"b\"c", false, 0, 2000, "<reason>"}};
  for (const std::string& html : {HistoryHtml({{run, objects}}, 1, 1, ""), RunHtml(run, objects)}) {
    EXPECT_EQ(html.find("<img"), std::string::npos);
    EXPECT_EQ(html.find("<b>"), std::string::npos);
    EXPECT_EQ(html.find("<reason>"), std::string::npos);
    EXPECT_NE(html.find("a/&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
    EXPECT_NE(html.find("b&quot;c"), std::string::npos);
  }
}

TEST(Views, HistoryPagesLinkBothWays) {
  RunRow run;
  run.id = 1;
  run.transferred = 30;  // more than the page shows: a link to the run
  const std::string middle = HistoryHtml({{run, {{"k", true, 1, 1, ""}}}}, 2, 3, "");
  EXPECT_NE(middle.find("href=\"/events/history?page=1\""), std::string::npos);
  EXPECT_NE(middle.find("href=\"/events/history?page=3\""), std::string::npos);
  EXPECT_NE(middle.find("and 29 more"), std::string::npos);
  const std::string last = HistoryHtml({}, 3, 3, "");
  EXPECT_EQ(last.find("page=4"), std::string::npos);
}

TEST(Views, RunJsonPrefersLiveCountersWhileRunning) {
  RunRow run;
  run.id = 3;
  run.state = "running";
  run.received_ms = 1764410400123;  // 2025-11-29T10:00:00.123Z
  LiveCounters live;
  live.transferred = 5;
  live.bytes = 1000;
  live.seconds = 2;
  auto j = RunJson(run, live);
  EXPECT_EQ(j["transferred"], 5);
  EXPECT_EQ(j["bytes_per_second"], 500.0);
  EXPECT_EQ(j["received_at"], "2025-11-29T10:00:00.123Z");
  EXPECT_EQ(j["ended_at"], "");
  EXPECT_EQ(RunJson(run, std::nullopt)["transferred"], 0);
}

TEST(Views, MetricsCountEveryJobEvenWithoutRuns) {
  ServeJob a, b;
  a.name = "a";
  b.name = "b";
  JobView va{&a, "running", 4, 0, std::nullopt}, vb{&b, "idle", 0, 0, std::nullopt};
  JobTotals t;
  t.runs_by_state["ok"] = 2;
  t.transferred = 9;
  t.last_success_ms = 1500;
  // Runs of 0.5, 20 and 7,200 s, as the store sums them.
  t.runs_within = {1, 1, 1, 2, 2, 2, 2, 3};
  t.timed_runs = 3;
  t.run_seconds = 7220.5;
  const std::string text = MetricsText({{"a", t}}, {va, vb}, ServiceGauges{12, 256});
  EXPECT_NE(text.find("riptide_runs_total{job=\"a\",result=\"ok\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_runs_total{job=\"b\",result=\"failed\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_objects_transferred_total{job=\"a\"} 9\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_last_success_timestamp_seconds{job=\"a\"} 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_job_running{job=\"a\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_run_duration_seconds_bucket{job=\"a\",le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_run_duration_seconds_bucket{job=\"a\",le=\"60\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_run_duration_seconds_bucket{job=\"a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_run_duration_seconds_count{job=\"b\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_requests_in_flight 12\n"), std::string::npos);
  EXPECT_NE(text.find("riptide_concurrency_limit 256\n"), std::string::npos);
}

TEST(HttpApi, BearerTokensCompareWhole) {
  EXPECT_TRUE(BearerMatches("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(BearerMatches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(BearerMatches("Bearer s3cretX", "s3cret"));
  EXPECT_FALSE(BearerMatches("bearer s3cret", "s3cret"));
  EXPECT_FALSE(BearerMatches("s3cret", "s3cret"));
  EXPECT_FALSE(BearerMatches("Bearer ", ""));  // no token configured never matches
}

}  // namespace
}  // namespace riptide::serve
