// The curl-multi transport against a small HTTP/1.1 server in this process: many
// requests at once on one loop thread, delayed submits, cancellation of stalled
// requests, the in-memory body cap. Runs under TSan in CI (scripts/sanitize.sh).
#include "transport/http/curl_transport.h"
#include "transport/http/fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace riptide::http {
namespace {

// Answers GET /echo/N with N bytes, and holds GET /stall open until stopped.
class TinyServer {
 public:
  TinyServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 512), 0);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TinyServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : workers_) t.join();
    for (int fd : open_) ::close(fd);
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  void Accept() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      open_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      const std::string head = in.substr(0, end);
      in.erase(0, end + 4);
      const std::string path = head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
      if (path == "/stall") {
        while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return;
      }
      const size_t n = path.rfind("/echo/", 0) == 0 ? std::stoul(path.substr(6)) : 0;
      std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + std::string(n, 'x');
      for (size_t off = 0; off < out.size();) {
        ssize_t w = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += static_cast<size_t>(w);
      }
    }
  }
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> workers_;
};

Request Get(const std::string& url) {
  Request r;
  r.url = url;
  return r;
}

TEST(CurlTransport, ManyRequestsAtOnceOnOneLoop) {
  TinyServer server;
  TransportOptions options;
  options.max_total_connections = 32;
  CurlTransport transport(options);
  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 300; ++i) futures.push_back(FetchAsync(transport, Get(server.Url("/echo/" + std::to_string(i * 37)))));
  for (int i = 0; i < 300; ++i) {
    auto r = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), static_cast<size_t>(i * 37));
  }
  EXPECT_GE(transport.requests_started(), 300u);
}

TEST(CurlTransport, DelayedSubmitWaits) {
  TinyServer server;
  CurlTransport transport;
  struct Timed : ResponseHandler {
    std::promise<std::chrono::steady_clock::time_point> done;
    void OnHeaders(int, const HeaderMap&) override {}
    bool OnBody(std::string_view) override { return true; }
    void OnComplete() override { done.set_value(std::chrono::steady_clock::now()); }
    void OnFailure(Error) override { done.set_value({}); }
  };
  auto handler = std::make_shared<Timed>();
  auto finished = handler->done.get_future();
  const auto start = std::chrono::steady_clock::now();
  transport.Submit(Get(server.Url("/echo/5")), handler, std::chrono::milliseconds(300));
  EXPECT_GE(finished.get() - start, std::chrono::milliseconds(300));
}

TEST(CurlTransport, CancelAllEndsStalledRequestsPromptly) {
  TinyServer server;
  CurlTransport transport;
  std::vector<std::future<Result<Response>>> stalled;
  for (int i = 0; i < 8; ++i) stalled.push_back(FetchAsync(transport, Get(server.Url("/stall"))));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  transport.CancelAll();
  for (auto& f : stalled) {
    auto r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // Requests submitted after a cancel fail at once too.
  auto late = FetchAsync(transport, Get(server.Url("/echo/1"))).get();
  EXPECT_FALSE(late.ok());
}

TEST(CurlTransport, InMemoryBodiesAreCapped) {
  TinyServer server;
  CurlTransport transport;
  auto r = Fetch(transport, Get(server.Url("/echo/" + std::to_string((64u << 20) + 1))));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("larger than 64 MiB"), std::string::npos);
}

}  // namespace
}  // namespace riptide::http
