// libFuzzer target: key → path mapping. Whatever the key, a mapped path stays inside
// the dataset: no empty, "." or ".." segment, not absolute, no NUL or control byte,
// never under the state directory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "planner/key_mapping.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using riptide::planner::KeyMapping;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first line is the prefix, the rest the key (keys always start with the prefix).
  const size_t nl = input.find('\n');
  const std::string prefix = riptide::planner::NormalizePrefix(nl == std::string_view::npos ? "" : input.substr(0, nl));
  const std::string key = prefix + std::string(nl == std::string_view::npos ? input : input.substr(nl + 1));
  KeyMapping m = riptide::planner::MapKey(key, prefix);
  if (m.kind == KeyMapping::Kind::kRefused) {
    Check(!m.reason.empty());
    return 0;
  }
  const std::string& p = m.path;
  Check(p.empty() || p.front() != '/');
  Check(p.size() <= 4096);
  size_t start = 0;
  while (start <= p.size() && !p.empty()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string_view seg(p.data() + start, end - start);
    Check(!seg.empty() && seg != "." && seg != ".." && seg.size() <= 255);
    for (unsigned char c : seg) Check(c >= 0x20 && c != 0x7f);
    if (start == 0) Check(seg != riptide::planner::kStateDirName);
    start = end + 1;
  }
  return 0;
}
