#include "planner/filter.h"

#include <gtest/gtest.h>

namespace riptide::planner {
namespace {

TEST(GlobMatch, Stars) {
  EXPECT_TRUE(GlobMatch("*.txt", "a.txt"));
  EXPECT_FALSE(GlobMatch("*.txt", "dir/a.txt"));  // '*' stays within a segment
  EXPECT_TRUE(GlobMatch("**.txt", "dir/a.txt"));
  EXPECT_TRUE(GlobMatch("**/*.txt", "a/b/c.txt"));
  EXPECT_TRUE(GlobMatch("logs/**", "logs/2026/11/x.log"));
  EXPECT_TRUE(GlobMatch("a/**/b", "a/b"));
  EXPECT_TRUE(GlobMatch("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(GlobMatch("a/*", "a/b/c"));
  EXPECT_TRUE(GlobMatch("*", ""));
}

TEST(GlobMatch, QuestionAndSets) {
  EXPECT_TRUE(GlobMatch("img-?.png", "img-1.png"));
  EXPECT_FALSE(GlobMatch("a?b", "a/b"));
  EXPECT_TRUE(GlobMatch("shard-[0-3]/*", "shard-2/x"));
  EXPECT_FALSE(GlobMatch("shard-[0-3]/*", "shard-7/x"));
  EXPECT_TRUE(GlobMatch("[!a]*", "b1"));
  EXPECT_FALSE(GlobMatch("[!a]*", "a1"));
  EXPECT_TRUE(GlobMatch("x[", "x["));  // an unclosed set is a literal
  EXPECT_TRUE(GlobMatch("é*", "été"));
}

TEST(KeyFilter, LastMatchWins) {
  KeyFilter f;
  EXPECT_TRUE(f.Included("anything"));
  f.Add(false, "*");
  f.Add(true, "*.txt");
  EXPECT_TRUE(f.Included("a.txt"));
  EXPECT_FALSE(f.Included("a.bin"));
  EXPECT_TRUE(f.Included("sub/a.bin"));  // '*' does not reach into folders
  f.Add(false, "secret*.txt");
  EXPECT_FALSE(f.Included("secret-1.txt"));
}

}  // namespace
}  // namespace riptide::planner
