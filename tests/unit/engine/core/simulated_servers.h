// Simulated servers for the concurrency controller's tests: what one period at a given
// limit shows, and a driver that feeds a controller period after period.
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include "engine/core/concurrency_control.h"

namespace riptide::engine::sim {

inline constexpr double kMB = 1e6;

// A simulated server: what one second at `limit` requests in flight shows.
using Server = std::function<ControlSample(int limit)>;

// Bandwidth-bound: each request moves `per_request` bytes a second until `knee`
// requests fill the link; beyond it the same bytes, each request slower.
inline Server Knee(int knee, double per_request = 10 * kMB) {
  return [=](int limit) {
    ControlSample s;
    s.busy = limit;
    s.bytes = static_cast<uint64_t>(std::min(limit, knee) * per_request);
    s.requests = s.bytes / (8 << 20);
    return s;
  };
}

// A server that thrashes beyond `knee` in flight (a disk seeking between streams): more
// does half what `knee` does, every time it is measured.
inline Server Thrashing(int knee) {
  return [=](int limit) {
    ControlSample s = Knee(knee)(limit);
    if (limit > knee) s.bytes /= 2;
    s.requests = s.bytes / (8 << 20);
    return s;
  };
}

// A server that answers SlowDown to what it has in flight above `cap`: those requests
// move nothing and come back as retries, ten a second each (1 MiB objects).
inline Server Cap(int cap, double per_request = 4 * kMB) {
  return [=](int limit) {
    ControlSample s;
    s.busy = limit;
    s.bytes = static_cast<uint64_t>(std::min(limit, cap) * per_request);
    s.requests = s.bytes >> 20;
    if (limit > cap) s.throttled = static_cast<uint64_t>(limit - cap) * 10;
    s.requests += s.throttled;
    return s;
  };
}

// Step: `upto` MB a second at `at` requests in flight or fewer, `above` MB beyond (objects of
// 6 MiB): a noisy mixed run's periods, with no knee of its own in between.
inline Server Step(int at, double upto, double above) {
  return [=](int limit) {
    ControlSample s;
    s.busy = limit;
    s.bytes = static_cast<uint64_t>((limit <= at ? upto : above) * kMB);
    s.requests = s.bytes / (6 << 20);
    return s;
  };
}

// A server that saturates gently, as one thread serving small objects does: each request
// in flight adds less than the one before, `top` bytes a second at most (s3rver serving
// 64 KiB objects measured 679, 871, 1,041 and 1,134 objects a second at 8, 16, 32 and 128).
inline Server Saturating(double top, double half = 6.3) {
  return [=](int limit) {
    ControlSample s;
    s.busy = limit;
    s.bytes = static_cast<uint64_t>(top * limit / (limit + half));
    s.requests = s.bytes >> 16;
    return s;
  };
}

struct Trace {
  std::vector<int> limits;
  std::vector<ControlSample> samples;
  double MeanBytes(size_t from) const {
    double sum = 0;
    for (size_t i = from; i < samples.size(); ++i) sum += static_cast<double>(samples[i].bytes);
    return sum / static_cast<double>(samples.size() - from);
  }
  uint64_t Throttled(size_t from) const {
    uint64_t n = 0;
    for (size_t i = from; i < samples.size(); ++i) n += samples[i].throttled;
    return n;
  }
  int Max() const { return *std::max_element(limits.begin(), limits.end()); }
};

inline Trace Drive(ConcurrencyController& c, const Server& server, int periods) {
  Trace t;
  for (int i = 0; i < periods; ++i) {
    t.limits.push_back(c.limit());
    t.samples.push_back(server(c.limit()));
    c.Update(t.samples.back());
  }
  return t;
}

// Slow start from 8 on a link that more always fills, whose first second at 8 runs three
// times as fast: 16 looks worse, and slow start steps back to 8 at the fifth period, owing
// 8 a second measurement. From then on each period is `then(limit, period)`.
inline Trace StepBackFrom16(ConcurrencyController& c, const std::function<ControlSample(int, int)>& then,
                            int periods) {
  int period = 0;
  return Drive(c, [&](int limit) {
    ControlSample s = period >= 4 ? then(limit, period) : Knee(1000)(limit);
    if (period < 4) s.requests = s.bytes >> 20;
    if (period == 1) s.bytes *= 3;
    ++period;
    return s;
  }, periods);
}

}  // namespace riptide::engine::sim
