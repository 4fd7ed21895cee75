// The merge-join diff against a naive set difference on random sorted streams.
#include "planner/diff.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <random>

namespace riptide::planner {
namespace {

class VectorCursor final : public ManifestCursor {
 public:
  explicit VectorCursor(std::vector<ManifestEntry> rows) : rows_(std::move(rows)), view_(rows_) {}
  const ManifestEntry* Current() override { return pos_ < view_.size() ? &view_[pos_] : nullptr; }
  void Next() override { ++pos_; }
  std::optional<ManifestEntry> Find(const std::string& key) override {
    for (const auto& r : rows_) {
      if (r.key == key) return r;
    }
    return std::nullopt;
  }
  void MarkListed(const std::string& key) override { listed_.insert(key); }
  void RewindUnlisted(const std::string& after) override {
    view_.clear();
    for (const auto& r : rows_) {
      if (r.key > after && !listed_.count(r.key)) view_.push_back(r);
    }
    pos_ = 0;
  }

 private:
  std::vector<ManifestEntry> rows_;
  std::vector<ManifestEntry> view_;
  std::set<std::string> listed_;
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

// A random bucket and manifest, the bucket listed in key order or shuffled (as servers
// that list in file-system order do), against a naive set difference. What a consumer
// keeps is each kGone not retracted later.
void CheckAgainstSetDifference(bool shuffled) {
  std::mt19937 rng(shuffled ? 7 : 42);
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
    if (shuffled) {  // runs in order, with some keys moved far back or forward
      for (size_t i = 0; i < listing.size() / 5; ++i) {
        std::swap(listing[rng() % listing.size()], listing[rng() % listing.size()]);
      }
    }
    std::vector<Decision> out;
    // Pages of random sizes.
    for (size_t i = 0; i < listing.size();) {
      size_t n = std::min<size_t>(listing.size() - i, 1 + rng() % 50);
      differ.Feed({listing.begin() + i, listing.begin() + i + n}, &out);
      i += n;
    }
    differ.Finish(&out);
    std::map<std::string, Action> got;
    std::set<std::string> gone;
    for (const auto& d : out) {
      if (d.retracts_gone) {
        EXPECT_EQ(gone.erase(d.object.key), 1u) << d.object.key;
      }
      if (d.action == Action::kGone) {
        EXPECT_TRUE(gone.insert(d.object.key).second) << d.object.key;
      } else {
        EXPECT_TRUE(got.emplace(d.object.key, d.action).second) << d.object.key;
      }
    }
    for (const auto& [k, v] : bucket) {
      auto it = manifest.find(k);
      Action want = it == manifest.end() ? Action::kNew
                    : it->second == v   ? Action::kUnchanged
                                        : Action::kChanged;
      EXPECT_EQ(got[k], want) << k;
    }
    std::set<std::string> want_gone;
    for (const auto& [k, v] : manifest) {
      if (!bucket.count(k)) want_gone.insert(k);
    }
    EXPECT_EQ(gone, want_gone);
    EXPECT_EQ(got.size(), bucket.size());
    EXPECT_EQ(differ.listing_sorted(), !shuffled);
  }
}

TEST(Differ, RandomStreamsMatchNaiveSetDifference) { CheckAgainstSetDifference(false); }

TEST(Differ, ListingsOutOfOrderStillGiveExactlyTheGoneRows) { CheckAgainstSetDifference(true); }

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
