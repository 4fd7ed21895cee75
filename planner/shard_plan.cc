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

}  // namespace riptide::planner
