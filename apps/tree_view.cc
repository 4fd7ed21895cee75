#include "apps/tree_view.h"

#include "apps/format.h"

namespace riptide::app {
namespace {

std::string Totals(uint64_t objects, uint64_t bytes) {
  return std::to_string(objects) + (objects == 1 ? " object, " : " objects, ") +
         HumanBytes(static_cast<double>(bytes));
}


}  // namespace

void TreeView::Add(std::string_view key, uint64_t size) {
  Node* node = &root_;
  node->objects++;
  node->bytes += size;
  for (int depth = 1;; ++depth) {
    const size_t slash = key.find('/');
    if (slash == std::string_view::npos) {
      // The object itself; a folder marker ("a/") ends here with an empty name.
      if (!key.empty() && (max_depth_ < 0 || depth <= max_depth_)) {
        Node& leaf = node->children[std::string(key)];
        leaf.objects++;
        leaf.bytes += size;
      }
      return;
    }
    if (max_depth_ >= 0 && depth > max_depth_) return;  // counted in the folder above
    node = &node->children[std::string(key.substr(0, slash + 1))];
    node->folder = true;
    node->objects++;
    node->bytes += size;
    key.remove_prefix(slash + 1);
  }
}

void TreeView::RenderChildren(const Node& node, const std::string& indent, std::string* out) {
  size_t left = node.children.size();
  for (const auto& [name, child] : node.children) {
    const bool last = --left == 0;
    *out += indent + (last ? "└── " : "├── ") + Printable(name);
    if (child.folder) {
      *out += "  (" + Totals(child.objects, child.bytes) + ")\n";
      RenderChildren(child, indent + (last ? "    " : "│   "), out);
    } else {
      *out += "  " + HumanBytes(static_cast<double>(child.bytes)) + "\n";
    }
  }
}

std::string TreeView::Render(const std::string& title) const {
  std::string out = Printable(title) + "  (" + Totals(root_.objects, root_.bytes) + ")\n";
  RenderChildren(root_, "", &out);
  return out;
}

nlohmann::json TreeView::NodeJson(const std::string& name, const Node& node) {
  if (!node.folder) return {{"name", name}, {"bytes", node.bytes}};
  nlohmann::json children = nlohmann::json::array();
  for (const auto& [child_name, child] : node.children) children.push_back(NodeJson(child_name, child));
  return {{"name", name}, {"objects", node.objects}, {"bytes", node.bytes}, {"children", children}};
}

std::string TreeView::Json(const std::string& title) const { return DumpJson(NodeJson(title, root_)) + "\n"; }

}  // namespace riptide::app
