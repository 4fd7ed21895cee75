// Reading the service's YAML: problems collected with their lines, and the fields of one
// map read by type, `${VAR}` expanded, unknown keys refused. Internal to serve_config.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apps/serve/schedule.h"
#include "apps/serve/serve_config.h"
#include "transport/byte_size.h"

namespace riptide::serve::config {

// Collects problems with their lines; the config is refused if there is any.
class Problems {
 public:
  explicit Problems(std::string path) : path_(std::move(path)) {}
  void Add(const YAML::Mark& mark, const std::string& message) { Add(mark.line + 1, message); }
  void Add(int line, const std::string& message) {
    list_.emplace_back(line, path_ + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + message);
  }
  bool empty() const { return list_.empty(); }
  /// In the order of the file.
  std::string Joined() const {
    auto sorted = list_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string all;
    for (const auto& p : sorted) all += (all.empty() ? "" : "\n") + p.second;
    return all;
  }

 private:
  std::string path_;
  std::vector<std::pair<int, std::string>> list_;
};

// ${VAR} and ${VAR:-default}; an unset variable without a default is a problem.
inline std::string Expand(const std::string& value, const std::map<std::string, std::string>& env, const YAML::Mark& mark,
                   Problems& problems) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    if (value.compare(i, 2, "${") != 0) {
      out += value[i++];
      continue;
    }
    size_t end = value.find('}', i);
    if (end == std::string::npos) {
      problems.Add(mark, "unclosed ${ in a value");
      return out;
    }
    std::string name = value.substr(i + 2, end - i - 2), fallback;
    bool has_default = false;
    if (auto d = name.find(":-"); d != std::string::npos) {
      fallback = name.substr(d + 2);
      name = name.substr(0, d);
      has_default = true;
    }
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) {
      out += it->second;
    } else if (has_default) {
      out += fallback;
    } else {
      problems.Add(mark, "${" + name + "} is not set in the environment");
    }
    i = end + 1;
  }
  return out;
}

// Reads one map's keys, refusing those it does not know.
class Fields {
 public:
  Fields(const YAML::Node& map, const std::map<std::string, std::string>& env, Problems& problems, std::string what)
      : map_(map), env_(env), problems_(problems) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      keys_.emplace_back(it->first.as<std::string>(""), it->first.Mark());
    }
    what_ = std::move(what);
  }
  // Every key not read by now is unknown.
  void RefuseUnknown(const std::vector<std::string>& hints = {}) {
    for (const auto& [key, mark] : keys_) {
      if (read_.count(key)) continue;
      problems_.Add(mark, "unknown key '" + key + "' in " + what_);
    }
  }
  bool Has(const std::string& key) {
    read_.insert(key);
    return map_[key].IsDefined() && !map_[key].IsNull();
  }
  YAML::Mark MarkOf(const std::string& key) const { return map_[key].Mark(); }
  void String(const std::string& key, std::string* out) {
    if (!Has(key)) return;
    const YAML::Node node = map_[key];
    if (!node.IsScalar()) return problems_.Add(node.Mark(), key + " must be a single value");
    *out = Expand(node.Scalar(), env_, node.Mark(), problems_);
  }
  void Bool(const std::string& key, bool* out) {
    std::string v;
    String(key, &v);
    if (v.empty()) return;
    if (v == "true" || v == "yes" || v == "on") *out = true;
    else if (v == "false" || v == "no" || v == "off") *out = false;
    else problems_.Add(MarkOf(key), key + " must be true or false, not '" + v + "'");
  }
  template <typename T>
  void Int(const std::string& key, T* out, int64_t lo, int64_t hi) {
    std::string v;
    String(key, &v);
    if (v.empty()) return;
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (errno || *end || n < lo || n > hi) {
      return problems_.Add(MarkOf(key), key + " must be a whole number from " + std::to_string(lo) + " to " +
                                            std::to_string(hi) + ", not '" + v + "'");
    }
    *out = static_cast<T>(n);
  }
  // A whole number, or "auto" (stored as `automatic`): concurrency found while running.
  void IntOrAuto(const std::string& key, int* out, int64_t lo, int64_t hi, int automatic) {
    std::string v;
    String(key, &v);
    if (v == "auto") {
      *out = automatic;
      return;
    }
    Int(key, out, lo, hi);
  }
  void Size(const std::string& key, uint64_t* out, uint64_t lo, uint64_t hi) {
    std::string v;
    String(key, &v);
    if (v.empty()) return;
    auto size = ParseByteSize(v);
    if (!size.ok() || *size < lo || *size > hi) {
      return problems_.Add(MarkOf(key), key + " must be a size from " + std::to_string(lo) + " to " +
                                            std::to_string(hi) + " bytes (e.g. 16M), not '" + v + "'");
    }
    *out = *size;
  }
  void Seconds(const std::string& key, std::chrono::seconds* out) {
    std::string v;
    String(key, &v);
    if (v.empty()) return;
    auto d = ParseDuration(v);
    if (!d.ok()) return problems_.Add(MarkOf(key), key + ": " + d.error().message);
    *out = *d;
  }
  void List(const std::string& key, std::vector<std::string>* out) {
    if (!Has(key)) return;
    const YAML::Node node = map_[key];
    if (node.IsScalar()) {
      out->push_back(Expand(node.Scalar(), env_, node.Mark(), problems_));
      return;
    }
    if (!node.IsSequence()) return problems_.Add(node.Mark(), key + " must be a list of patterns");
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        problems_.Add(item.Mark(), key + " must be a list of patterns");
        continue;
      }
      out->push_back(Expand(item.Scalar(), env_, item.Mark(), problems_));
    }
  }

 private:
  const YAML::Node& map_;
  const std::map<std::string, std::string>& env_;
  Problems& problems_;
  std::string what_;
  std::vector<std::pair<std::string, YAML::Mark>> keys_;
  std::set<std::string> read_;
};

}  // namespace riptide::serve::config
