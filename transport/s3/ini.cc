#include "transport/s3/ini.h"

#include <algorithm>
#include <cctype>

#include "transport/strings.h"

namespace riptide::s3 {
namespace {

std::string Unquote(std::string_view v) {
  if (v.size() >= 2 && ((v.front() == '"' && v.back() == '"') || (v.front() == '\'' && v.back() == '\''))) {
    return std::string(v.substr(1, v.size() - 2));
  }
  return std::string(v);
}

}  // namespace

IniFile ParseIni(std::string_view text) {
  IniFile out;
  std::string section;
  std::string parent_key;  // the last key with an empty value, for nested blocks
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = TrimWhitespace(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(TrimWhitespace(line.substr(1, line.size() - 2)));
      out[section];
      parent_key.clear();
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = AsciiLower(TrimWhitespace(line.substr(0, eq)));
    std::string value = Unquote(TrimWhitespace(line.substr(eq + 1)));
    if (indented && !parent_key.empty()) {
      out[section][parent_key + "." + key] = value;
      continue;
    }
    parent_key = value.empty() ? key : std::string();
    out[section][key] = value;
  }
  return out;
}

}  // namespace riptide::s3
