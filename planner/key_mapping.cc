#include "planner/key_mapping.h"

namespace riptide::planner {
namespace {

constexpr size_t kNameMax = 255;
constexpr size_t kPathMax = 4000;  // PATH_MAX (4096) less room for the dataset's own path

KeyMapping Refuse(std::string reason) {
  KeyMapping m;
  m.kind = KeyMapping::Kind::kRefused;
  m.reason = std::move(reason);
  return m;
}

}  // namespace

std::string NormalizePrefix(std::string_view prefix) {
  std::string p(prefix);
  if (!p.empty() && p.back() != '/') p.push_back('/');
  return p;
}

KeyMapping MapKey(std::string_view key, std::string_view prefix) {
  if (key.substr(0, prefix.size()) != prefix) return Refuse("key is outside the prefix");
  std::string_view rel = key.substr(prefix.size());
  for (unsigned char c : rel) {
    if (c < 0x20 || c == 0x7f) return Refuse("key holds a NUL or control character");
  }
  KeyMapping m;
  m.kind = KeyMapping::Kind::kFile;
  if (rel.empty()) {  // the prefix's own folder marker
    m.kind = KeyMapping::Kind::kFolder;
    return m;
  }
  if (rel.back() == '/') {
    m.kind = KeyMapping::Kind::kFolder;
    rel.remove_suffix(1);
  }
  if (rel.size() > kPathMax) return Refuse("key is longer than a local path may be");
  if (rel.front() == '/') return Refuse("key is absolute (starts with '/')");
  size_t start = 0;
  bool first = true;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    std::string_view seg = rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) return Refuse("key has an empty path segment ('//')");
    if (seg == "." || seg == "..") return Refuse("key has a '" + std::string(seg) + "' path segment");
    if (seg.size() > kNameMax) return Refuse("a path segment of the key is longer than 255 bytes");
    if (first && seg == kStateDirName) return Refuse("key would land in riptide's state directory");
    if (seg.find(kTempMarker) != std::string_view::npos) return Refuse("key looks like a riptide temp file");
    first = false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  m.path = std::string(rel);
  return m;
}

}  // namespace riptide::planner
