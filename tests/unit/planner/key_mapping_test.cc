#include "planner/key_mapping.h"

#include <gtest/gtest.h>

namespace riptide::planner {
namespace {

using Kind = KeyMapping::Kind;

TEST(NormalizePrefix, AddsOneSlash) {
  EXPECT_EQ(NormalizePrefix(""), "");
  EXPECT_EQ(NormalizePrefix("data"), "data/");
  EXPECT_EQ(NormalizePrefix("data/"), "data/");
}

TEST(MapKey, StripsThePrefix) {
  auto m = MapKey("data/a/b.txt", "data/");
  EXPECT_EQ(m.kind, Kind::kFile);
  EXPECT_EQ(m.path, "a/b.txt");
  EXPECT_EQ(MapKey("x y/é+%=&.bin", "").path, "x y/é+%=&.bin");
}

TEST(MapKey, FolderMarkers) {
  auto m = MapKey("data/sub/", "data/");
  EXPECT_EQ(m.kind, Kind::kFolder);
  EXPECT_EQ(m.path, "sub");
  EXPECT_EQ(MapKey("data/", "data/").kind, Kind::kFolder);
  EXPECT_EQ(MapKey("data/", "data/").path, "");
}

TEST(MapKey, RefusesHostileKeys) {
  const char* hostile[] = {
      "../x", "a/../../x", "a/..", "/etc/passwd", "a//b", "./a", "a/./b", ".riptide/manifest.db",
      "a/.riptide-tmp-0123", "a\nb", "tab\there", "del\x7f",
  };
  for (const char* key : hostile) {
    auto m = MapKey(key, "");
    EXPECT_EQ(m.kind, Kind::kRefused) << key;
    EXPECT_FALSE(m.reason.empty()) << key;
  }
  EXPECT_EQ(MapKey(std::string("nul\0x", 5), "").kind, Kind::kRefused);
  EXPECT_EQ(MapKey(std::string(256, 'a'), "").kind, Kind::kRefused);
  EXPECT_EQ(MapKey(std::string(255, 'a'), "").kind, Kind::kFile);
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "abcdefgh/";
  EXPECT_EQ(MapKey(deep + "f", "").kind, Kind::kRefused);
  // Only the top-level state directory is reserved; ".." inside a name is fine.
  EXPECT_EQ(MapKey("a/.riptide/x", "").kind, Kind::kFile);
  EXPECT_EQ(MapKey("a..b/..c", "").kind, Kind::kFile);
  EXPECT_EQ(MapKey("other/x", "data/").kind, Kind::kRefused);
}

}  // namespace
}  // namespace riptide::planner
