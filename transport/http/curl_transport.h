// A curl-multi transport: one loop thread owns the CURLM and every easy handle.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "transport/http/transport.h"

namespace riptide::http {

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options = {});
  ~CurlTransport() override;  // fails what is still queued or running with kCancelled
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void Submit(Request request, std::shared_ptr<ResponseHandler> handler,
              std::chrono::milliseconds delay) override;
  void CancelAll() override;
  using Transport::Submit;
  uint64_t requests_started() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Process-wide libcurl set-up: once, from main, before any thread starts a transport.
void GlobalInit();

/// The factory of curl transports, for the process runtime.
TransportFactory CurlTransportFactory();

}  // namespace riptide::http
