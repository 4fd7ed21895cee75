#include "planner/filter.h"

namespace riptide::planner {
namespace {

// Matches a bracket set at pattern[p] ('[' … ']') against c; sets *end past the ']'.
bool MatchSet(std::string_view pattern, size_t p, char c, size_t* end) {
  size_t i = p + 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  for (; i < pattern.size() && (first || pattern[i] != ']'); ++i, first = false) {
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      if (pattern[i] <= c && c <= pattern[i + 2]) matched = true;
      i += 2;
    } else if (pattern[i] == c) {
      matched = true;
    }
  }
  if (i >= pattern.size()) {  // no closing ']': a literal '['
    *end = p + 1;
    return c == '[';
  }
  *end = i + 1;
  return matched != negate && c != '/';
}

bool Match(std::string_view pat, size_t p, std::string_view s, size_t i) {
  while (p < pat.size()) {
    char pc = pat[p];
    if (pc == '*') {
      const bool any_depth = p + 1 < pat.size() && pat[p + 1] == '*';
      size_t next = p + (any_depth ? 2 : 1);
      if (any_depth && next < pat.size() && pat[next] == '/') {
        // "**/" also matches nothing at all: "a/**/b" matches "a/b".
        if (Match(pat, next + 1, s, i)) return true;
      }
      for (size_t j = i;; ++j) {
        if (Match(pat, next, s, j)) return true;
        if (j >= s.size() || (!any_depth && s[j] == '/')) return false;
      }
    }
    if (i >= s.size()) return false;
    if (pc == '?') {
      if (s[i] == '/') return false;
      ++p;
      ++i;
    } else if (pc == '[') {
      size_t end;
      if (!MatchSet(pat, p, s[i], &end)) return false;
      p = end;
      ++i;
    } else {
      if (pc != s[i]) return false;
      ++p;
      ++i;
    }
  }
  return i == s.size();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) { return Match(pattern, 0, path, 0); }

bool KeyFilter::Included(std::string_view path) const {
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
    if (GlobMatch(it->pattern, path)) return it->include;
  }
  return true;
}

}  // namespace riptide::planner
