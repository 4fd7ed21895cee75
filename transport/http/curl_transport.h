// A curl-multi transport: one loop thread owns the CURLM and every easy handle.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "transport/http/transport.h"

namespace riptide::http {

struct CurlTransportOptions {
  long max_total_connections = 256;   // CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = unlimited
  long max_host_connections = 0;      // CURLMOPT_MAX_HOST_CONNECTIONS; 0 = unlimited
  long connect_timeout_ms = 10000;    // per connection attempt
  long low_speed_limit_bytes = 1;     // abort when slower than this ...
  long low_speed_time_s = 60;         // ... for this long (a stalled response)
  bool verify_tls = true;             // --no-verify-ssl turns it off
  std::string ca_bundle;              // --ca-bundle; empty = system store
  std::string user_agent = "riptide/0.1";
};

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(CurlTransportOptions options = {});
  ~CurlTransport() override;  // fails what is still queued or running with kCancelled
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void Submit(Request request, std::shared_ptr<ResponseHandler> handler,
              std::chrono::milliseconds delay) override;
  void CancelAll() override;
  using Transport::Submit;
  /// Requests started so far, retries included (for benchmarks and --json).
  uint64_t requests_started() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Starts one request whose whole response is kept in memory (listings, HEADs, errors;
/// bodies over 64 MiB fail). Never wait on the future from the transport's own thread.
std::future<Result<Response>> FetchAsync(Transport& transport, Request request);

/// FetchAsync, waited for.
Result<Response> Fetch(Transport& transport, Request request);

}  // namespace riptide::http
