// The service's HTTP API on cpp-httplib: triggers and cancels (POST), jobs, runs, stats,
// history, metrics and health (GET). Loopback by default; with a token every POST (and,
// with auth_reads, every read but the health checks) needs `Authorization: Bearer …`.
#pragma once

#include <memory>
#include <string>

#include "apps/serve/readiness.h"
#include "apps/serve/service.h"

namespace riptide::serve {

class HttpApi {
 public:
  HttpApi(Service& service, Readiness& readiness);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  /// Binds the listener (port 0: any free port); an error names the address.
  Status Bind(const std::string& host, int port);
  int port() const { return port_; }
  /// Serves until Stop() (from another thread); false when the listener failed instead.
  bool Serve();
  /// Stops accepting; requests in progress finish.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

/// True when `header` is "Bearer TOKEN" for `token`, compared in constant time.
bool BearerMatches(const std::string& header, const std::string& token);

}  // namespace riptide::serve
