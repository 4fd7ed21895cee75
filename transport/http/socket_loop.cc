#include "transport/http/socket_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace riptide::http {
namespace {

[[noreturn]] void Fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// Watches `fd` for `events`: added to the set when it is new to it, else changed.
bool Watch(int epoll, int fd, uint32_t events, bool known) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  return ::epoll_ctl(epoll, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0;
}

}  // namespace

SocketLoop::SocketLoop(CURLM* multi) : multi_(multi) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) Fail("epoll_create1");
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) {
    ::close(epoll_);
    Fail("eventfd");
  }
  if (!Watch(epoll_, wake_, EPOLLIN, false)) {
    ::close(wake_);
    ::close(epoll_);
    Fail("epoll_ctl");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &SocketLoop::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &SocketLoop::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

SocketLoop::~SocketLoop() {
  // The multi handle may outlive the loop and still call back while it is cleaned up.
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, nullptr);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, nullptr);
  ::close(wake_);
  ::close(epoll_);
}

void SocketLoop::Wake() {
  const uint64_t one = 1;
  // A full counter (EAGAIN) is still a wake-up; nothing else can fail on an eventfd.
  [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
}

// curl keeps a pointer per socket for us from the first call about it until it removes
// it (and always removes a socket before it closes it): non-null means "in the epoll set".
// A socket epoll will not take (out of memory, max_user_watches) is an error curl fails
// the multi handle's transfers with, not a transfer left waiting on nothing.
int SocketLoop::OnSocket(CURL*, curl_socket_t fd, int what, void* loop, void* socket_data) {
  auto* self = static_cast<SocketLoop*>(loop);
  if (what == CURL_POLL_REMOVE) {
    ::epoll_ctl(self->epoll_, EPOLL_CTL_DEL, fd, nullptr);
    return 0;
  }
  uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  if (!Watch(self->epoll_, fd, events, socket_data != nullptr)) return -1;
  if (socket_data == nullptr) curl_multi_assign(self->multi_, fd, self);
  return 0;
}

int SocketLoop::OnTimer(CURLM*, long timeout_ms, void* loop) {
  auto* self = static_cast<SocketLoop*>(loop);
  if (timeout_ms < 0) {
    self->deadline_.reset();
  } else {
    self->deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

// Milliseconds epoll may sleep: up to `limit`, and not past curl's timer (rounded up, so
// the timer is due when epoll returns rather than a millisecond early, twice).
int SocketLoop::WaitMs(std::chrono::milliseconds limit) const {
  auto wait = std::chrono::duration_cast<std::chrono::microseconds>(limit);
  if (deadline_) wait = std::min(wait, std::chrono::duration_cast<std::chrono::microseconds>(*deadline_ - Clock::now()));
  if (wait.count() <= 0) return 0;
  return static_cast<int>((wait.count() + 999) / 1000);
}

void SocketLoop::RunOnce(std::chrono::milliseconds limit) {
  constexpr int kEvents = 64;
  epoll_event events[kEvents];
  const int n = ::epoll_wait(epoll_, events, kEvents, WaitMs(limit));
  int running = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wake_, &count, sizeof count);
      continue;
    }
    const uint32_t ready = events[i].events;
    int flags = 0;
    if (ready & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (ready & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (ready & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(multi_, fd, flags, &running);
  }
  // (n < 0 is EINTR: a signal; the caller comes back at once.)
  if (deadline_ && *deadline_ <= Clock::now()) {
    // The timer is one-shot, as curl expects: curl sets the next one from inside the call,
    // but says nothing when the next is due at the very time it last gave.
    deadline_.reset();
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  }
}

}  // namespace riptide::http
