// The merge-join diff against a naive set difference on random sorted streams.
#include "planner/diff.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace riptide::planner {
namespace {

class VectorCursor final : public ManifestCursor {
 public:
  explicit VectorCursor(std::vector<ManifestEntry> rows) : rows_(std::move(rows)) {}
  const ManifestEntry* Current() override { return pos_ < rows_.size() ? &rows_[pos_] : nullptr; }
  void Next() override { ++pos_; }
  std::optional<ManifestEntry> Find(const std::string& key) override {
    for (const auto& r : rows_) {
      if (r.key == key) return r;
    }
    return std::nullopt;
  }

 private:
  std::vector<ManifestEntry> rows_;
  size_t pos_ = 0;
};

s3::ObjectInfo Obj(std::string key, uint64_t size, std::string etag) {
  s3::ObjectInfo o;
  o.key = std::move(key);
  o.size = size;
  o.etag = std::move(etag);
  return o;
}

using Action = Decision::Action;

TEST(Differ, RandomStreamsMatchNaiveSetDifference) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::map<std::string, std::pair<uint64_t, std::string>> bucket, manifest;
    for (int i = 0; i < 400; ++i) {
      std::string key = "k/" + std::to_string(rng() % 1000) + (rng() % 3 ? "" : "/x\xc3\xa9");
      bool in_bucket = rng() % 4 != 0, in_manifest = rng() % 3 != 0;
      std::string etag = "e" + std::to_string(rng() % 3);
      if (in_bucket) bucket[key] = {10, etag};
      if (in_manifest) manifest[key] = {10, rng() % 5 ? etag : "other"};
    }
    std::vector<ManifestEntry> rows;
    for (const auto& [k, v] : manifest) rows.push_back({k, v.first, v.second, 0, k, 0, ""});
    VectorCursor cursor(rows);
    Differ differ(cursor);
    std::vector<s3::ObjectInfo> listing;
    for (const auto& [k, v] : bucket) listing.push_back(Obj(k, v.first, v.second));
    std::vector<Decision> out;
    // Pages of random sizes.
    for (size_t i = 0; i < listing.size();) {
      size_t n = std::min<size_t>(listing.size() - i, 1 + rng() % 50);
      differ.Feed({listing.begin() + i, listing.begin() + i + n}, &out);
      i += n;
    }
    differ.Finish(&out);
    std::map<std::string, Action> got;
    for (const auto& d : out) EXPECT_TRUE(got.emplace(d.object.key, d.action).second) << d.object.key;
    for (const auto& [k, v] : bucket) {
      auto it = manifest.find(k);
      Action want = it == manifest.end() ? Action::kNew
                    : it->second == v   ? Action::kUnchanged
                                        : Action::kChanged;
      EXPECT_EQ(got[k], want) << k;
    }
    for (const auto& [k, v] : manifest) {
      if (!bucket.count(k)) {
        EXPECT_EQ(got[k], Action::kGone) << k;
      }
    }
    EXPECT_EQ(got.size(), bucket.size() + [&] {
      size_t gone = 0;
      for (const auto& [k, v] : manifest) gone += !bucket.count(k);
      return gone;
    }());
    EXPECT_TRUE(differ.listing_sorted());
  }
}

TEST(Differ, SizeChangeIsAChange) {
  VectorCursor cursor({{"a", 1, "e", 0, "a", 0, ""}});
  Differ differ(cursor);
  std::vector<Decision> out;
  differ.Feed({Obj("a", 2, "e")}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action, Action::kChanged);
}

TEST(Differ, OutOfOrderListingFallsBackToLookups) {
  VectorCursor cursor({{"a", 1, "e", 0, "a", 0, ""}, {"b", 1, "e", 0, "b", 0, ""}, {"c", 1, "e", 0, "c", 0, ""}});
  Differ differ(cursor);
  std::vector<Decision> out;
  differ.Feed({Obj("a", 1, "e"), Obj("c", 1, "e"), Obj("b", 1, "e")}, &out);
  differ.Finish(&out);
  EXPECT_FALSE(differ.listing_sorted());
  int unchanged = 0;
  for (const auto& d : out) unchanged += d.action == Action::kUnchanged;
  EXPECT_EQ(unchanged, 3);
}

TEST(Differ, KeyListsLookUpEachKeyAndNeverSayGone) {
  VectorCursor cursor({{"a", 1, "e", 0, "a", 0, ""}, {"b", 1, "e", 0, "b", 0, ""}, {"c", 1, "e", 0, "c", 0, ""}});
  Differ differ(cursor, DiffOptions{true, false});
  std::vector<Decision> out;
  differ.Feed({Obj("c", 1, "e"), Obj("x", 1, "e")}, &out);
  differ.Finish(&out);
  ASSERT_EQ(out.size(), 2u);  // a and b were not asked about: not gone
  EXPECT_EQ(out[0].action, Action::kUnchanged);
  EXPECT_EQ(out[1].action, Action::kNew);
}

TEST(Differ, NewerLastModifiedIsAChangeOnlyWhenAsked) {
  auto listed = Obj("a", 1, "e");
  listed.last_modified_ms = 2000;
  for (bool newer : {false, true}) {
    VectorCursor cursor({{"a", 1, "e", 1000, "a", 0, ""}});
    Differ differ(cursor, DiffOptions{false, newer});
    std::vector<Decision> out;
    differ.Feed({listed}, &out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].action, newer ? Action::kChanged : Action::kUnchanged);
  }
  // An older LastModified (a restored backup) is no reason to fetch again.
  VectorCursor cursor({{"a", 1, "e", 5000, "a", 0, ""}});
  Differ differ(cursor, DiffOptions{false, true});
  std::vector<Decision> out;
  differ.Feed({listed}, &out);
  EXPECT_EQ(out[0].action, Action::kUnchanged);
}

}  // namespace
}  // namespace riptide::planner
