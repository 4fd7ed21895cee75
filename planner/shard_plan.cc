#include "planner/shard_plan.h"

#include <algorithm>

namespace riptide::planner {

void ShardSampler::Add(const std::string& key, uint64_t size) {
  weight_ += Weight(size);
  ++objects_;
  bytes_ += size;
  last_ = {key, weight_, objects_, bytes_};
  if (++seen_ % stride_ != 0) return;
  samples_.push_back(last_);
  if (samples_.size() >= kMaxSamples) {  // keep every other one: the stride doubles
    std::vector<Sample> kept;
    kept.reserve(samples_.size() / 2 + 1);
    for (size_t i = 1; i < samples_.size(); i += 2) kept.push_back(std::move(samples_[i]));
    samples_ = std::move(kept);
    stride_ *= 2;
  }
}

std::vector<KeyRange> ShardSampler::Split(int n) const {
  std::vector<Sample> points = samples_;
  if (objects_ > 0 && (points.empty() || points.back().key != last_.key)) points.push_back(last_);
  std::vector<KeyRange> ranges;
  KeyRange current;
  Sample done;  // cumulative figures at the end of the previous range
  size_t next = 0;
  for (int i = 1; i < n; ++i) {
    const double target = weight_ * i / n;
    while (next < points.size() && points[next].weight < target) ++next;
    if (next >= points.size() - (points.empty() ? 0 : 1)) break;  // the rest is the last range
    const Sample& cut = points[next];
    if (cut.key <= current.after && !ranges.empty()) continue;
    current.last = cut.key;
    current.objects = cut.objects - done.objects;
    current.bytes = cut.bytes - done.bytes;
    ranges.push_back(current);
    current = KeyRange{cut.key, "", 0, 0};
    done = cut;
    ++next;
  }
  current.objects = objects_ - done.objects;
  current.bytes = bytes_ - done.bytes;
  ranges.push_back(current);
  return ranges;
}

namespace {

bool Continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

// The cut is a prefix of `after` that ends on a character boundary, then one printable
// ASCII character between the two keys' next bytes: always valid UTF-8 (servers decode
// start-after as text, and one that mangled a stray byte would skip keys).
std::string MidKey(const std::string& after, const std::string& last, const std::string& prefix) {
  const std::string& lo = after < prefix ? prefix : after;
  bool bounded = !last.empty();
  if (bounded && !(lo < last)) return "";
  size_t i = prefix.size();
  if (bounded) {
    while (i < lo.size() && i < last.size() && lo[i] == last[i]) ++i;
    while (i > prefix.size() && i < lo.size() && Continuation(static_cast<unsigned char>(lo[i])))
      --i;
  }
  std::string out = lo.substr(0, i);
  for (;;) {
    const int c_lo = i < lo.size() ? static_cast<unsigned char>(lo[i]) : -1;
    const int c_hi = !bounded ? 0x100 : i < last.size() ? static_cast<unsigned char>(last[i]) : -1;
    const int from = std::max(c_lo + 1, 0x21), to = std::min(c_hi - 1, 0x7E);
    if (from <= to) {
      out.push_back(static_cast<char>((from + to) / 2));
      break;
    }
    if (c_lo < 0) return "";  // `after` ends here, and nothing fits below `last`
    // No room at this character: follow `after`'s, and cut below it.
    size_t end = i + 1;
    while (end < lo.size() && Continuation(static_cast<unsigned char>(lo[end]))) ++end;
    bounded = bounded && last.compare(i, end - i, lo, i, end - i) == 0;
    out.append(lo, i, end - i);
    i = end;
  }
  if (!(after < out) || (!last.empty() && !(out < last)) ||
      out.compare(0, prefix.size(), prefix) != 0)
    return "";
  return out;
}

double KeyPosition(const std::string& key, const std::string& prefix) {
  double position = 0, scale = 1.0 / 256;
  for (size_t i = prefix.size(); i < key.size() && i < prefix.size() + 6; ++i, scale /= 256) {
    position += static_cast<unsigned char>(key[i]) * scale;
  }
  return position;
}

}  // namespace riptide::planner
