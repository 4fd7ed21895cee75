// Drives a curl multi handle by its sockets. epoll says which sockets are ready and
// curl_multi_socket_action runs only the transfers on them; curl_multi_perform would visit
// every transfer on each wake-up and poll(2) each one's socket, so a loop with N transfers
// in flight paid N syscalls for every response that arrived.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <optional>

namespace riptide::http {

class SocketLoop {
 public:
  /// Takes over the multi handle's socket and timer callbacks; throws std::system_error when
  /// the kernel gives no epoll or eventfd.
  explicit SocketLoop(CURLM* multi);
  ~SocketLoop();
  SocketLoop(const SocketLoop&) = delete;
  SocketLoop& operator=(const SocketLoop&) = delete;

  /// Ends a RunOnce that is waiting; from any thread.
  void Wake();

  /// Waits at most `limit` for a ready socket, curl's own timer or a Wake, then has curl
  /// act on what happened. Finished transfers are then read with curl_multi_info_read.
  void RunOnce(std::chrono::milliseconds limit);

 private:
  using Clock = std::chrono::steady_clock;
  static int OnSocket(CURL* easy, curl_socket_t fd, int what, void* loop, void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* loop);
  int WaitMs(std::chrono::milliseconds limit) const;

  CURLM* multi_;
  int epoll_ = -1;
  int wake_ = -1;  // an eventfd in the epoll set
  std::optional<Clock::time_point> deadline_;  // when curl wants CURL_SOCKET_TIMEOUT
};

}  // namespace riptide::http
