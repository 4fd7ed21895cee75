#include "apps/serve/serve_command.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "apps/serve/http_api.h"
#include "apps/serve/readiness.h"
#include "apps/serve/serve_log.h"
#include "apps/serve/service.h"
#include "apps/signals.h"

namespace riptide::serve {

ServeCommand::ServeCommand(CLI::App& app, app::GlobalOptions& global) : global_(global) {
  cmd_ = app.add_subcommand("serve", "Run jobs from a config file on schedules and HTTP triggers, with history, "
                                     "stats, Prometheus metrics and health checks");
  cmd_->add_option("--config", config_path_, "the service's YAML config")->required();
  cmd_->add_flag("--check", check_, "validate the config (every problem, with its line) and exit");
  cmd_->add_option("--listen", listen_, "HOST:PORT, over the config's listen (port 0: any free port)");
  cmd_->add_option("--shutdown-timeout", shutdown_timeout_,
                   "on SIGTERM, how long running jobs get to stop and record themselves (default: the config's "
                   "shutdown_timeout, 30s)");
  app::AddGlobalFlags(cmd_, global);
  cmd_->footer(
      "Endpoints: POST /jobs/NAME/run, POST /runs/ID/cancel; GET /jobs, /jobs/NAME, /runs/ID, /events/stats,\n"
      "/events/history, /metrics, /healthz, /readyz.\n"
      "Exit status: 0 after SIGTERM or SIGINT (running jobs are cancelled and recorded), 1 when the HTTP\n"
      "listener fails while serving, 2 for a config that does not validate or an address that cannot\n"
      "be listened on.");
}

Result<ServeConfig> ServeCommand::LoadConfig(const s3::ConfigSources& sources) const {
  std::string text;
  if (!s3::ReadTextFile(config_path_, &text)) {
    return MakeError(ErrorCode::kInvalidArgument, "riptide: cannot read the config file " + config_path_);
  }
  auto config = ParseServeConfig(text, config_path_, sources);
  if (!config.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     config.error().message + "\nriptide: the config is not valid; nothing started");
  }
  if (!listen_.empty()) {
    if (Status st = config->SetListen(listen_); !st.ok()) {
      return MakeError(ErrorCode::kInvalidArgument, "riptide: --listen " + st.error().message);
    }
  }
  if (!shutdown_timeout_.empty()) {
    auto d = ParseDuration(shutdown_timeout_);
    if (!d.ok()) return MakeError(ErrorCode::kInvalidArgument, "riptide: --shutdown-timeout: " + d.error().message);
    config->shutdown_timeout = *d;
  }
  return config;
}

int ServeCommand::Run() {
  const s3::ConfigSources sources = s3::LoadConfigSources();
  auto config = LoadConfig(sources);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 2;
  }
  if (check_) {
    std::printf("%s: valid, %zu job%s\n", config_path_.c_str(), config->jobs.size(), config->jobs.size() == 1 ? "" : "s");
    for (const auto& job : config->jobs) {
      std::printf("  %s: %s -> %s, %s\n", job.name.c_str(), job.spec.source.c_str(), job.spec.destination.c_str(),
                  job.schedule.Describe().c_str());
    }
    return 0;
  }
  auto store = ServiceStore::Open(config->state_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "riptide: %s\n", store.error().message.c_str());
    return 2;
  }
  auto events = EventStore::Open(config->state_dir);
  if (!events.ok()) {
    std::fprintf(stderr, "riptide: %s\n", events.error().message.c_str());
    return 2;
  }
  return Serve(*config, **store, **events, sources);
}

int ServeCommand::Serve(const ServeConfig& config, ServiceStore& store, EventStore& events,
                        const s3::ConfigSources& sources) {
  auto log = ServeLog();
  app::InstallSignalHandlers();
  Service service(config, store, events, *global_.runtime, sources);
  Readiness readiness(config, store, *global_.runtime, sources);
  HttpApi api(service, readiness);
  Status started = api.Bind(config.listen_host, config.listen_port);
  if (started.ok()) started = service.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "riptide: %s\n", started.error().message.c_str());
    return 2;
  }
  log->info("listening on http://{}:{} with {} job{}; state in {}", config.listen_host, api.port(),
            config.jobs.size(), config.jobs.size() == 1 ? "" : "s", config.state_dir);
  if (!config.auth_token.empty()) log->info("POSTs need the bearer token");
  std::atomic<bool> http_failed{false};
  std::thread http([&] {
    if (!api.Serve() && !app::StopFlag()) {
      http_failed = true;
      log->error("the HTTP listener stopped; stopping the service");
    }
  });
  while (!app::StopFlag() && !http_failed) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  log->info("stopping: no new runs; cancelling {} running", service.Running());
  api.Stop();
  http.join();
  if (!service.Shutdown(config.shutdown_timeout)) {
    log->warn("runs still going after {} s are recorded as interrupted; exiting", config.shutdown_timeout.count());
    log->flush();
    std::fflush(stderr);
    std::_Exit(http_failed ? 1 : 0);  // their threads cannot be waited for; the state is already recorded
  }
  log->info("stopped");
  return http_failed ? 1 : 0;
}

}  // namespace riptide::serve
