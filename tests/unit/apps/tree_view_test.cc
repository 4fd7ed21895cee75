// The tree `riptide tree` prints: folder totals, depth limits, awkward names.
#include "apps/tree_view.h"

#include <gtest/gtest.h>

namespace riptide::app {
namespace {

TEST(TreeView, FoldersCarryTheTotalsOfEverythingUnderThem) {
  TreeView tree(-1);
  tree.Add("a/x.bin", 1024);
  tree.Add("a/b/y.bin", 2048);
  tree.Add("z.txt", 5);
  EXPECT_EQ(tree.Render("s3://b/"),
            "s3://b/  (3 objects, 3.0 KiB)\n"
            "├── a/  (2 objects, 3.0 KiB)\n"
            "│   ├── b/  (1 object, 2.0 KiB)\n"
            "│   │   └── y.bin  2.0 KiB\n"
            "│   └── x.bin  1.0 KiB\n"
            "└── z.txt  5 B\n");
}

TEST(TreeView, DepthHidesContentsButKeepsCounts) {
  TreeView tree(1);
  tree.Add("a/x.bin", 10);
  tree.Add("a/b/c/y.bin", 20);
  tree.Add("top", 1);
  EXPECT_EQ(tree.Render("s3://b/p/"),
            "s3://b/p/  (3 objects, 31 B)\n"
            "├── a/  (2 objects, 30 B)\n"
            "└── top  1 B\n");
  TreeView zero(0);
  zero.Add("a/x", 1);
  zero.Add("y", 1);
  EXPECT_EQ(zero.Render("s3://b/"), "s3://b/  (2 objects, 2 B)\n");
}

TEST(TreeView, FolderMarkersAndControlCharacters) {
  TreeView tree(-1);
  tree.Add("d/", 0);
  tree.Add("bad\x1b[2Jname", 3);
  EXPECT_EQ(tree.Render("s3://b/"),
            "s3://b/  (2 objects, 3 B)\n"
            "├── bad\\x1b[2Jname  3 B\n"
            "└── d/  (1 object, 0 B)\n");
}

}  // namespace
}  // namespace riptide::app
