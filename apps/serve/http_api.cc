#include "apps/serve/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "apps/serve/event_views.h"
#include "apps/serve/views.h"

namespace riptide::serve {
namespace {

constexpr int kHistoryPageRuns = 25;
constexpr int kHistoryObjectsPerRun = 20;
constexpr int kRunObjectsShown = 5000;
constexpr int kHistoryEvents = 50;
constexpr int kFilesPage = 500;

void Json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

void Problem(httplib::Response& res, int status, const std::string& message) {
  Json(res, status, {{"error", message}});
}

bool ParseId(const std::string& text, int64_t* id) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  *id = std::stoll(text);
  return true;
}

}  // namespace

bool BearerMatches(const std::string& header, const std::string& token) {
  const std::string prefix = "Bearer ";
  if (token.empty() || header.size() != prefix.size() + token.size() || header.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(header[prefix.size() + i] ^ token[i]);
  }
  return diff == 0;
}

struct HttpApi::Impl {
  Impl(Service& s, Readiness& r) : service(s), readiness(r) {
    // cpp-httplib's default sets SO_REUSEPORT, which lets a second service bind the same
    // port and take half the requests. SO_REUSEADDR alone restarts past TIME_WAIT.
    server.set_socket_options([this](socket_t fd) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_fd = fd;
    });
  }
  Service& service;
  Readiness& readiness;
  httplib::Server server;
  int listen_fd = -1;  // the listening socket, once bound

  // Debian's cpp-httplib listens with a backlog of 5: a burst of connections (a hundred
  // CronJobs at the top of the hour) would see SYNs dropped and retried a second later.
  // listen() again on the bound socket raises it.
  void RaiseBacklog() const {
    if (listen_fd >= 0) ::listen(listen_fd, 1024);
  }

  void Routes();
  void JobRoutes();    // triggers and jobs
  void RunRoutes();    // runs and cancels
  void EventRoutes();  // stats, history pages, metrics
  void NoticeRoutes();  // object events in, the files table out
  void History(const httplib::Request& req, httplib::Response& res);  // events and runs, newest first
  void HealthRoutes();
  // Refuses what this request may not do; true when it was refused (the response is set).
  bool Refused(const httplib::Request& req, httplib::Response& res);
};

bool HttpApi::Impl::Refused(const httplib::Request& req, httplib::Response& res) {
  const ServeConfig& config = service.config();
  const bool write = req.method != "GET" && req.method != "HEAD";
  const bool health = req.path == "/healthz" || req.path == "/readyz";
  if (!write && (!config.auth_reads || health)) return false;
  if (config.auth_token.empty()) {
    if (config.ListenIsLoopback()) return false;
    Problem(res, 403, "POSTs are refused: the service listens beyond loopback without an auth_token");
    return true;
  }
  if (BearerMatches(req.get_header_value("Authorization"), config.auth_token)) return false;
  res.set_header("WWW-Authenticate", "Bearer");
  Problem(res, 401, "a bearer token is required (Authorization: Bearer …)");
  return true;
}

void HttpApi::Impl::Routes() {
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return Refused(req, res) ? httplib::Server::HandlerResponse::Handled : httplib::Server::HandlerResponse::Unhandled;
  });
  JobRoutes();
  RunRoutes();
  EventRoutes();
  NoticeRoutes();
  HealthRoutes();
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      Problem(res, res.status, res.status == 404 ? "no such endpoint" : "HTTP " + std::to_string(res.status));
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    Problem(res, 500, "internal error");
  });
}

void HttpApi::Impl::JobRoutes() {
  server.Post(R"(/jobs/([^/]+)/run)", [this](const httplib::Request& req, httplib::Response& res) {
    auto t = service.Trigger(req.matches[1], "manual");
    if (!t.ok()) {
      return Problem(res, t.error().code == ErrorCode::kNotFound ? 404 : 503, t.error().message);
    }
    Json(res, 202, {{"run_id", t->run_id}, {"job", std::string(req.matches[1])}, {"coalesced", t->coalesced}});
  });

  server.Get("/jobs", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& view : service.Jobs()) {
      auto last = service.store().Recent(view.job->name, 1, 0);
      std::optional<RunRow> row;
      if (last.ok() && !last->empty()) row = last->front();
      jobs.push_back(JobJson(view, row));
    }
    Json(res, 200, {{"jobs", jobs}});
  });

  server.Get(R"(/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    for (const auto& view : service.Jobs()) {
      if (view.job->name != req.matches[1]) continue;
      auto recent = service.store().Recent(view.job->name, 10, 0);
      if (!recent.ok()) return Problem(res, 500, recent.error().message);
      std::optional<RunRow> last;
      if (!recent->empty()) last = recent->front();
      nlohmann::json j = JobJson(view, last);
      j["recent_runs"] = nlohmann::json::array();
      for (const auto& r : *recent) j["recent_runs"].push_back(RunJson(r, service.Live(r.id)));
      return Json(res, 200, j);
    }
    Problem(res, 404, "no job called '" + std::string(req.matches[1]) + "'");
  });

}

void HttpApi::Impl::RunRoutes() {
  server.Get(R"(/runs/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t id = 0;
    if (!ParseId(req.matches[1], &id)) return Problem(res, 404, "no such run");
    auto row = service.store().Get(id);
    if (!row.ok()) return Problem(res, 500, row.error().message);
    if (!row->has_value()) return Problem(res, 404, "no run " + std::to_string(id));
    nlohmann::json j = RunJson(**row, service.Live(id));
    j["failures"] = nlohmann::json::array();
    auto objects = service.store().Objects(id, kRunObjectsShown);
    if (objects.ok()) {
      for (const auto& o : *objects) {
        if (!o.ok) j["failures"].push_back({{"key", o.key}, {"reason", o.reason}, {"at", IsoTime(o.at_ms)}});
      }
    }
    Json(res, 200, j);
  });

  server.Post(R"(/runs/(\d+)/cancel)", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t id = 0;
    if (!ParseId(req.matches[1], &id)) return Problem(res, 404, "no such run");
    switch (service.Cancel(id)) {
      case Service::CancelOutcome::kCancelled:
        return Json(res, 202, {{"run_id", id}, {"cancelling", true}});
      case Service::CancelOutcome::kAlreadyEnded:
        return Problem(res, 409, "run " + std::to_string(id) + " has already ended");
      case Service::CancelOutcome::kNotFound:
        return Problem(res, 404, "no run " + std::to_string(id));
    }
  });

}

void HttpApi::Impl::EventRoutes() {
  server.Get("/events/stats", [this](const httplib::Request&, httplib::Response& res) {
    auto totals = service.store().Totals();
    if (!totals.ok()) return Problem(res, 500, totals.error().message);
    nlohmann::json j = StatsJson(*totals, service.Jobs());
    auto all = service.events().Counters("");
    if (!all.ok()) return Problem(res, 500, all.error().message);
    j["object_events"] = CountersJson(*all);
    for (const auto& job : service.config().jobs) {
      if (!job.on_event) continue;
      auto c = service.events().Counters(job.name);
      if (c.ok()) j["object_events"]["jobs"][job.name] = CountersJson(*c);
    }
    Json(res, 200, j);
  });

  server.Get("/events/history", [this](const httplib::Request& req, httplib::Response& res) { History(req, res); });

  server.Get(R"(/events/history/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t id = 0;
    if (!ParseId(req.matches[1], &id)) return Problem(res, 404, "no such run");
    auto row = service.store().Get(id);
    if (!row.ok() || !row->has_value()) return Problem(res, 404, "no run " + std::to_string(id));
    auto objects = service.store().Objects(id, kRunObjectsShown);
    res.set_content(RunHtml(**row, objects.ok() ? *objects : std::vector<ObjectRow>()), "text/html; charset=utf-8");
  });

  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto totals = service.store().Totals();
    if (!totals.ok()) return Problem(res, 500, totals.error().message);
    const ServiceGauges gauges{service.RequestsInFlight(), service.config().concurrency};
    res.set_content(MetricsText(*totals, service.Jobs(), gauges), "text/plain; version=0.0.4; charset=utf-8");
  });

}

void HttpApi::Impl::History(const httplib::Request& req, httplib::Response& res) {
  int page = 1;
  if (req.has_param("page")) {
    int64_t p = 0;
    if (!ParseId(req.get_param_value("page"), &p) || p < 1 || p > 1000000) {
      return Problem(res, 400, "page must be a number from 1");
    }
    page = static_cast<int>(p);
  }
  auto count = service.store().CountRuns();
  auto runs = service.store().Recent("", kHistoryPageRuns, (page - 1) * kHistoryPageRuns);
  if (!count.ok() || !runs.ok()) return Problem(res, 500, "cannot read the history");
  std::vector<RunWithObjects> rows;
  for (auto& r : *runs) {
    auto objects = service.store().Objects(r.id, kHistoryObjectsPerRun);
    rows.push_back({r, objects.ok() ? *objects : std::vector<ObjectRow>()});
  }
  const int pages = static_cast<int>((*count + kHistoryPageRuns - 1) / kHistoryPageRuns);
  auto notices = service.events().Recent(kHistoryEvents, 0);
  if (!notices.ok()) return Problem(res, 500, "cannot read the events");
  if (req.get_header_value("Accept").find("application/json") != std::string::npos) {
    nlohmann::json j = {{"events", NoticesJson(*notices)}, {"runs", nlohmann::json::array()}};
    for (const auto& r : rows) j["runs"].push_back(RunJson(r.run, service.Live(r.run.id)));
    return Json(res, 200, j);
  }
  res.set_content(HistoryHtml(rows, page, pages, page == 1 ? NoticesHtml(*notices) : ""),
                  "text/html; charset=utf-8");
}

void HttpApi::Impl::NoticeRoutes() {
  server.Post("/events", [this](const httplib::Request& req, httplib::Response& res) {
    auto notices = ParseNotifications(req.body, [&req](const std::string& name) { return req.get_header_value(name); });
    if (!notices.ok()) return Problem(res, 400, notices.error().message);
    auto receipt = service.Receive(*notices);
    if (!receipt.ok()) return Problem(res, 503, "the events were not stored: " + receipt.error().message);
    Json(res, 202, {{"received", notices->size()}, {"accepted", receipt->accepted}, {"duplicate", receipt->duplicate},
                    {"matched", receipt->matched}, {"unmatched", receipt->unmatched}});
  });

  server.Get("/files", [this](const httplib::Request& req, httplib::Response& res) {
    FilesPage page{req.get_param_value("job"), req.get_param_value("prefix"), req.get_param_value("after"), {}, {}};
    if (page.job.empty()) {
      for (const auto& job : service.config().jobs) {
        if (job.on_event || job.move) {
          if (!page.job.empty()) return Problem(res, 400, "name the job: /files?job=NAME");
          page.job = job.name;
        }
      }
    }
    const ServeJob* job = service.config().Find(page.job);
    if (!job) return Problem(res, 404, page.job.empty() ? "no job keeps a files table (on_event or move)"
                                                        : "no job called '" + page.job + "'");
    auto rows = service.events().Files(page.job, page.prefix, page.after, kFilesPage + 1);
    if (!rows.ok()) return Problem(res, 500, rows.error().message);
    page.rows = std::move(*rows);
    if (page.rows.size() > static_cast<size_t>(kFilesPage)) {
      page.rows.pop_back();
      page.next = page.rows.back().key;
    }
    if (req.get_header_value("Accept").find("application/json") != std::string::npos) {
      return Json(res, 200, FilesJson(page));
    }
    res.set_content(FilesHtml(page), "text/html; charset=utf-8");
  });
}

void HttpApi::Impl::HealthRoutes() {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    Json(res, 200, {{"status", "alive"}});
  });

  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = true;
    nlohmann::json components = nlohmann::json::array();
    for (const auto& c : readiness.Check()) {
      ready = ready && c.ok;
      components.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    }
    Json(res, ready ? 200 : 503, {{"status", ready ? "ready" : "not ready"}, {"components", components}});
  });

}

HttpApi::HttpApi(Service& service, Readiness& readiness) : impl_(std::make_unique<Impl>(service, readiness)) {
  httplib::Server& s = impl_->server;
  s.set_payload_max_length(512 * 1024);  // a batch of notifications
  s.set_read_timeout(5, 0);   // a slow client gives up its worker
  s.set_write_timeout(5, 0);
  s.set_keep_alive_timeout(5);
  s.set_keep_alive_max_count(100);
  s.new_task_queue = [] { return new httplib::ThreadPool(16); };
  impl_->Routes();
}

HttpApi::~HttpApi() { Stop(); }

Status HttpApi::Bind(const std::string& host, int port) {
  if (port == 0) {
    port_ = impl_->server.bind_to_any_port(host);
    if (port_ > 0) {
      impl_->RaiseBacklog();
      return OkStatus();
    }
  } else if (impl_->server.bind_to_port(host, port)) {
    port_ = port;
    impl_->RaiseBacklog();
    return OkStatus();
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
}

bool HttpApi::Serve() { return impl_->server.listen_after_bind(); }

void HttpApi::Stop() { impl_->server.stop(); }

}  // namespace riptide::serve
