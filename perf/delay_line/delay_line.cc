// A TCP delay line that makes a local server look far away, at a fraction of a Python
// proxy's CPU: every byte waits half the round trip in each direction (so a request and
// its answer pay the whole of it), and the answers on each connection can be capped to a
// rate, as a long path's bandwidth is. Bytes pass through untouched (signatures still
// check, TLS would too); nothing is parsed. One thread, epoll, bounded queues: a side
// whose queue is full is not read until it drains, so TCP's own flow control reaches the
// sender as it would over a real path. Connection set-up is not delayed.
//
//   build/delay_line UPSTREAM_PORT [--latency-ms 30] [--rate BYTES_PER_S]
//
// prints "listening on PORT" (a free port on 127.0.0.1) once it accepts, and runs until
// SIGTERM or SIGINT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  int upstream_port = 0;
  double latency_s = 0.030;  // the round trip added
  double rate = 0;           // bytes per second per connection, answers only (0: no cap)
};

struct Chunk {
  Clock::time_point due;
  std::vector<char> bytes;
  size_t sent = 0;
};

// One direction of a connection: what was read from `from` and waits to be written to `to`.
struct Pipe {
  uint64_t conn = 0;
  int from = -1, to = -1;
  std::deque<Chunk> queue;
  size_t queued = 0;
  bool eof = false;      // `from` has no more to say
  bool shut = false;     // `to` was told so
  bool capped = false;   // the answers' direction, under --rate
  Clock::time_point link_free{};  // when the capped link has sent what it holds
};

struct Conn {
  int client = -1, upstream = -1;
  bool connecting = true;
  Pipe up, down;  // client → upstream, upstream → client
};

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void Fail(const char* what) {
  std::fprintf(stderr, "delay_line: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

class DelayLine {
 public:
  DelayLine(const Settings& s, int listener) : s_(s), listener_(listener) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) Fail("epoll_create1");
    epoll_event ev{EPOLLIN, {.u64 = kListener}};
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, listener_, &ev) < 0) Fail("epoll_ctl");
    // A queue holds at most what the path holds in flight, and never less than 1 MiB.
    window_ = 1 << 20;
    if (s_.rate > 0) window_ = std::max(window_, static_cast<size_t>(2 * s_.rate * s_.latency_s));
    else window_ = 4 << 20;
  }

  void Run() {
    std::vector<epoll_event> events(256);
    while (!g_stop) {
      const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), TimeoutMs());
      if (n < 0 && errno != EINTR) Fail("epoll_wait");
      for (int i = 0; i < n; ++i) Handle(events[i]);
      DeliverDue();
    }
  }

 private:
  static constexpr uint64_t kListener = ~uint64_t{0};
  static constexpr size_t kReadMax = 256 << 10;

  struct Timer {
    Clock::time_point due;
    uint64_t conn;
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  int TimeoutMs() const {
    if (timers_.empty()) return 1000;
    const auto wait = timers_.top().due - Clock::now();
    if (wait <= Clock::duration::zero()) return 0;
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
  }

  void Handle(const epoll_event& ev) {
    if (ev.data.u64 == kListener) return Accept();
    const uint64_t id = ev.data.u64 >> 1;
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    const bool is_upstream = ev.data.u64 & 1;
    if (is_upstream && c.connecting && (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Close(id);
      c.connecting = false;
    }
    if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (!Read(is_upstream ? c.down : c.up)) return Close(id);
    }
    if (!Write(c, c.up) || !Write(c, c.down)) return Close(id);
    Finish(id, c);
  }

  void Accept() {
    for (;;) {
      const int client = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) return;
      const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (upstream < 0) Fail("socket");
      NoDelay(client);
      NoDelay(upstream);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(static_cast<uint16_t>(s_.upstream_port));
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(upstream, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 && errno != EINPROGRESS) {
        close(client);
        close(upstream);
        continue;
      }
      const uint64_t id = next_id_++;
      auto c = std::make_unique<Conn>();
      c->client = client;
      c->upstream = upstream;
      c->up.conn = c->down.conn = id;
      c->up.from = client;
      c->up.to = upstream;
      c->down.from = upstream;
      c->down.to = client;
      c->down.capped = s_.rate > 0;
      epoll_event ce{EPOLLIN, {.u64 = id << 1}};
      epoll_event ue{EPOLLIN | EPOLLOUT, {.u64 = (id << 1) | 1}};
      epoll_ctl(ep_, EPOLL_CTL_ADD, client, &ce);
      epoll_ctl(ep_, EPOLL_CTL_ADD, upstream, &ue);
      masks_[client] = ce.events;
      masks_[upstream] = ue.events;
      conns_.emplace(id, std::move(c));
    }
  }

  // Takes what `p.from` has into the queue, due half a round trip (and, capped, the time
  // the link needs to send it) from now. False: the connection failed.
  bool Read(Pipe& p) {
    if (p.eof || p.queued >= window_) return true;
    const ssize_t n = read(p.from, scratch_.data(), kReadMax);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
      p.eof = true;
      return true;
    }
    const auto now = Clock::now();
    Chunk chunk{now + Half(), std::vector<char>(scratch_.begin(), scratch_.begin() + n), 0};
    if (p.capped) {
      const auto on_wire = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(n) / s_.rate));
      p.link_free = std::max(p.link_free, now) + on_wire;
      chunk.due = p.link_free + Half();
    }
    p.queued += static_cast<size_t>(n);
    timers_.push({chunk.due, p.conn});
    p.queue.push_back(std::move(chunk));
    return true;
  }

  // Writes every due chunk `p.to` takes now. False: the connection failed.
  bool Write(const Conn& c, Pipe& p) {
    if (c.connecting) return true;
    const auto now = Clock::now();
    while (!p.queue.empty() && p.queue.front().due <= now) {
      Chunk& head = p.queue.front();
      const ssize_t n = send(p.to, head.bytes.data() + head.sent, head.bytes.size() - head.sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      head.sent += static_cast<size_t>(n);
      p.queued -= static_cast<size_t>(n);
      if (head.sent < head.bytes.size()) return true;
      p.queue.pop_front();
    }
    if (p.eof && p.queue.empty() && !p.shut) {
      shutdown(p.to, SHUT_WR);
      p.shut = true;
    }
    return true;
  }

  // Sets each side's interest from its queues, or closes the connection once both
  // directions have said everything.
  void Finish(uint64_t id, Conn& c) {
    if (c.up.shut && c.down.shut) return Close(id);
    const auto now = Clock::now();
    auto wants = [&](const Pipe& reading, const Pipe& writing, bool connecting) {
      uint32_t m = 0;
      if (!reading.eof && reading.queued < window_) m |= EPOLLIN;
      if (connecting || (!writing.queue.empty() && writing.queue.front().due <= now)) m |= EPOLLOUT;
      return m;
    };
    Interest(c.client, id << 1, wants(c.up, c.down, false));
    Interest(c.upstream, (id << 1) | 1, wants(c.down, c.up, c.connecting));
  }

  void Interest(int fd, uint64_t tag, uint32_t mask) {
    uint32_t& now = masks_[fd];
    if (now == mask) return;
    epoll_event ev{mask, {.u64 = tag}};
    epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
    now = mask;
  }

  void DeliverDue() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.top().due <= now) {
      const uint64_t id = timers_.top().conn;
      timers_.pop();
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Conn& c = *it->second;
      if (!Write(c, c.up) || !Write(c, c.down)) {
        Close(id);
        continue;
      }
      Finish(id, c);
    }
  }

  void Close(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    for (int fd : {it->second->client, it->second->upstream}) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
      masks_.erase(fd);
      close(fd);
    }
    conns_.erase(it);
  }

  Clock::duration Half() const {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s_.latency_s / 2));
  }

  const Settings s_;
  const int listener_;
  int ep_ = -1;
  size_t window_ = 0;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::unordered_map<int, uint32_t> masks_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<char> scratch_ = std::vector<char>(kReadMax);
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--latency-ms" && has_value) {
      s.latency_s = std::atof(argv[++i]) / 1000;
    } else if (arg == "--rate" && has_value) {
      s.rate = std::atof(argv[++i]);
    } else if (s.upstream_port == 0 && std::atoi(arg.c_str()) > 0) {
      s.upstream_port = std::atoi(arg.c_str());
    } else {
      std::fprintf(stderr, "usage: delay_line UPSTREAM_PORT [--latency-ms MS] [--rate BYTES_PER_S]\n");
      return 2;
    }
  }
  if (s.upstream_port <= 0 || s.upstream_port > 65535 || s.latency_s < 0 || s.rate < 0) {
    std::fprintf(stderr, "usage: delay_line UPSTREAM_PORT [--latency-ms MS] [--rate BYTES_PER_S]\n");
    return 2;
  }
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) Fail("socket");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  if (bind(listener, reinterpret_cast<sockaddr*>(&at), len) < 0 || listen(listener, 1024) < 0) Fail("listen");
  if (getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len) < 0) Fail("getsockname");
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::printf("listening on %d\n", ntohs(at.sin_port));
  std::fflush(stdout);
  auto line = std::make_unique<DelayLine>(s, listener);
  line->Run();
  return 0;
}
