// --include / --exclude: which keys a run considers. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace riptide::planner {

/// Glob match of a '/'-separated path: `*` any run within one segment, `**` any run
/// across segments, `?` one character but '/', `[abc]` / `[a-z]` / `[!a]` one of a set.
bool GlobMatch(std::string_view pattern, std::string_view path);

/// Rules in command-line order; the last rule that matches decides; no match includes.
/// (So `--exclude '*' --include '*.txt'` keeps only .txt files at the top level.)
class KeyFilter {
 public:
  void Add(bool include, std::string pattern) { rules_.push_back({include, std::move(pattern)}); }
  bool empty() const { return rules_.empty(); }
  /// `path`: the key relative to the source prefix.
  bool Included(std::string_view path) const;

 private:
  struct Rule {
    bool include;
    std::string pattern;
  };
  std::vector<Rule> rules_;
};

}  // namespace riptide::planner
