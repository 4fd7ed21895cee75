// `riptide tree`: folders and objects of a listing as an indented tree, each folder
// with the count and total size of the objects under it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace riptide::app {

class TreeView {
 public:
  /// `max_depth` < 0: no limit. Folders at the limit show their totals, not their contents.
  explicit TreeView(int max_depth) : max_depth_(max_depth) { root_.folder = true; }

  /// One listed object, its key relative to the listed prefix. Memory grows with the
  /// nodes shown (bounded by --depth), not with the objects counted.
  void Add(std::string_view relative_key, uint64_t size);

  /// The tree under a first line naming `title` with the grand totals.
  std::string Render(const std::string& title) const;
  /// The same as JSON: {"name", "objects", "bytes", "children": [...]} for folders,
  /// {"name", "bytes"} for objects.
  std::string Json(const std::string& title) const;

 private:
  struct Node {
    bool folder = false;
    uint64_t objects = 0;
    uint64_t bytes = 0;
    std::map<std::string, Node> children;  // by name, folders with a trailing '/'
  };
  static void RenderChildren(const Node& node, const std::string& indent, std::string* out);
  static nlohmann::json NodeJson(const std::string& name, const Node& node);
  int max_depth_;
  Node root_;
};

}  // namespace riptide::app
