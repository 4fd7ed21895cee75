// The HTTP transport interface: one method taking a request and a streaming handler.
// Knows nothing of S3.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/http/rate_limit.h"
#include "transport/result.h"

namespace riptide::http {

/// Response headers, names lower-cased.
using HeaderMap = std::map<std::string, std::string>;

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;             // already encoded; sent as is (no dot-segment squashing)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;            // small request bodies (XML for POST)
  /// A large body (an upload part) shared with its sender, so a retry resends it without
  /// a copy; when set, it is sent instead of `body`.
  std::shared_ptr<const std::string> shared_body;
  /// Answered at once by any S3 (a listing page, a HEAD): the whole exchange must end
  /// within TransportOptions::prompt_timeout_s, however steadily bytes trickle in.
  bool prompt = false;

  const std::string& Body() const { return shared_body ? *shared_body : body; }
};

/// Receives one response. Every method runs on the transport's loop thread and must
/// stay light (a pwrite is fine; hashing is not).
/// Exactly one of OnComplete / OnFailure is called, and it is the last call.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  /// The final status line and headers, once, before any body byte.
  virtual void OnHeaders(int status, const HeaderMap& headers) = 0;
  /// Body bytes in order. Return false to abort the transfer (OnFailure follows).
  virtual bool OnBody(std::string_view chunk) = 0;
  /// The whole response arrived (any HTTP status: the handler judges it).
  virtual void OnComplete() = 0;
  /// The exchange failed below HTTP (connect, reset, timeout, aborted).
  virtual void OnFailure(Error error) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Queues `request`; `delay` postpones its start (retry backoff). Thread-safe.
  virtual void Submit(Request request, std::shared_ptr<ResponseHandler> handler,
                      std::chrono::milliseconds delay = std::chrono::milliseconds(0)) = 0;
  /// Fails every queued, delayed and running request with kCancelled, and every request
  /// submitted from then on (a run being stopped). Thread-safe; idempotent.
  virtual void CancelAll() = 0;
  /// Requests started so far, retries included (for benchmarks and --json).
  virtual uint64_t requests_started() const = 0;
};

/// How a transport connects: timeouts, TLS, connection limits. Every field is a plain
/// value, so jobs can carry it without knowing which transport implements it.
struct TransportOptions {
  long max_total_connections = 256;   // connections open at once; 0 = unlimited
  long max_host_connections = 0;      // per host; 0 = unlimited
  long connect_timeout_ms = 10000;    // per connection attempt
  long low_speed_limit_bytes = 1;     // abort when slower than this ...
  long low_speed_time_s = 60;         // ... for this long (a stalled response)
  long prompt_timeout_s = 300;        // the whole of a prompt request (0 = no deadline)
  bool verify_tls = true;             // --no-verify-ssl turns it off
  std::string ca_bundle;              // --ca-bundle; empty = system store
  std::string user_agent = "riptide/0.1";
  // --bwlimit: shared by every transport that holds them (null: no limit).
  std::shared_ptr<RateLimiter> receive_limit;  // response bodies (downloads)
  std::shared_ptr<RateLimiter> send_limit;     // PUT bodies (uploads and parts)
};

/// Makes the transport a job talks to one endpoint through. The process runtime hands
/// jobs the curl one; tests hand them an in-memory object store.
using TransportFactory = std::function<std::unique_ptr<Transport>(const TransportOptions&)>;

/// A whole response held in memory: for listings, HEAD and error bodies.
struct Response {
  int status = 0;
  HeaderMap headers;
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

}  // namespace riptide::http
