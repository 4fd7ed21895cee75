// The spools a copy keeps on disk, and the merge of listings a server hands out of byte
// order: it must decide exactly what a merge of sorted listings decides.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/copy/copy_merge.h"
#include "engine/copy/entry_spool.h"

namespace riptide::engine {
namespace {

StreamEntry Entry(const std::string& rel, std::string etag = "e") {
  StreamEntry e;
  e.rel = rel;
  e.info.key = "p/" + rel;
  e.info.size = rel.size();
  e.info.etag = std::move(etag);
  e.info.last_modified_ms = -5;
  e.path = "/d/" + rel;
  e.dev = 7;
  e.ino = 9;
  return e;
}

std::vector<StreamEntry> Drain(ObjectStream& s) {
  std::vector<StreamEntry> out;
  StreamEntry e;
  for (;;) {
    auto r = s.Next(&e);
    EXPECT_TRUE(r.ok());
    if (!r.ok() || !*r) return out;
    out.push_back(e);
  }
}

TEST(EntrySpool, ReadsBackInOrderAppendsAfterAReadAndClears) {
  EntrySpool spool;
  ASSERT_TRUE(spool.Add(Entry("b")).ok());
  ASSERT_TRUE(spool.Add(Entry("a", std::string(3000, 'x'))).ok());
  std::vector<std::string> seen;
  auto collect = [&](StreamEntry& e) {
    seen.push_back(e.rel + ":" + std::to_string(e.info.etag.size()) + ":" + e.path);
    return OkStatus();
  };
  ASSERT_TRUE(spool.ForEach(collect).ok());
  ASSERT_TRUE(spool.Add(Entry("c")).ok());
  ASSERT_TRUE(spool.ForEach(collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"b:1:/d/b", "a:3000:/d/a", "b:1:/d/b", "a:3000:/d/a", "c:1:/d/c"}));
  ASSERT_TRUE(spool.Clear().ok());
  EXPECT_EQ(spool.count(), 0u);
  seen.clear();
  ASSERT_TRUE(spool.ForEach(collect).ok());
  EXPECT_TRUE(seen.empty());
}

// Many runs (more than kMaxRuns, so runs are merged on the way), equal keys in the
// order they came, every field back as it went in.
TEST(SortedSpool, SortsBeyondItsBudgetStablyAndWhole) {
  std::mt19937 rng(42);
  SortedSpool spool(4096);
  std::vector<StreamEntry> want;
  for (int i = 0; i < 6000; ++i) {
    StreamEntry e = Entry("k" + std::to_string(rng() % 2500), std::to_string(i));
    want.push_back(e);
    ASSERT_TRUE(spool.Add(e).ok());
  }
  ASSERT_TRUE(spool.Seal().ok());
  EXPECT_GT(spool.runs(), 0u);
  EXPECT_LE(spool.runs(), SortedSpool::kMaxRuns);
  std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.rel < b.rel; });
  auto got = Drain(spool);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].rel, want[i].rel);
    ASSERT_EQ(got[i].info.etag, want[i].info.etag) << "equal keys out of their order at " << i;
    ASSERT_EQ(got[i].info.key, want[i].info.key);
    ASSERT_EQ(got[i].info.last_modified_ms, -5);
    ASSERT_EQ(got[i].path, want[i].path);
    ASSERT_EQ(got[i].ino, 9u);
  }
  EXPECT_TRUE(spool.complete());
}

TEST(SortedSpool, SortsInMemoryWhenItFitsAndRefusesReadsBeforeSeal) {
  SortedSpool spool;
  for (const char* k : {"b", "a/b", "a-b", "c"}) ASSERT_TRUE(spool.Add(Entry(k)).ok());
  StreamEntry e;
  EXPECT_FALSE(spool.Next(&e).ok());
  ASSERT_TRUE(spool.Seal().ok());
  EXPECT_EQ(spool.runs(), 0u);
  std::vector<std::string> rels;
  for (auto& x : Drain(spool)) rels.push_back(x.rel);
  EXPECT_EQ(rels, (std::vector<std::string>{"a-b", "a/b", "b", "c"}));
}

// A listing in a given order, with point look-ups into the set it lists.
class ListedStream final : public ObjectStream {
 public:
  explicit ListedStream(std::vector<StreamEntry> entries) : entries_(std::move(entries)) {
    for (const auto& e : entries_) names_.insert(e.rel);
  }
  Result<bool> Next(StreamEntry* out) override {
    if (next_ >= entries_.size()) return false;
    *out = entries_[next_++];
    Saw(out->rel);
    return true;
  }
  Result<bool> Contains(const std::string& rel) override {
    ++lookups;
    return names_.count(rel) > 0;
  }
  int lookups = 0;

 private:
  std::vector<StreamEntry> entries_;
  std::set<std::string> names_;
  size_t next_ = 0;
};

// Sorted, then one stretch of it shuffled: the order breaks somewhere in the middle.
std::vector<StreamEntry> Listing(const std::map<std::string, std::string>& keys, std::mt19937& rng) {
  std::vector<StreamEntry> out;
  for (const auto& [k, etag] : keys) {
    out.push_back(Entry(k, etag));
    out.back().path.clear();  // bucket entries
  }
  if (out.size() > 4) {
    const size_t a = rng() % (out.size() / 2), b = a + 2 + rng() % (out.size() - a - 2);
    std::shuffle(out.begin() + static_cast<std::ptrdiff_t>(a), out.begin() + static_cast<std::ptrdiff_t>(b), rng);
  }
  return out;
}

TEST(MergerOutOfOrder, DecidesWhatASortedMergeDecides) {
  std::mt19937 rng(7);
  CopyOptions options;
  options.delete_extraneous = true;
  const std::string md5a(32, 'a'), md5b(32, 'b');
  int resorted = 0;
  for (int round = 0; round < 200; ++round) {
    std::map<std::string, std::string> src, dst;
    for (int i = 0; i < 60; ++i) {
      const std::string k = "k" + std::to_string(rng() % 90) + (rng() % 3 ? "" : "/x");
      const int where = static_cast<int>(rng() % 4);  // both same, both changed, source only, destination only
      if (where <= 1) src[k] = md5a, dst[k] = where == 0 ? md5a : md5b;
      if (where == 2) src[k] = md5a;
      if (where == 3 && !src.count(k)) dst[k] = md5b;
    }
    ListedStream source(Listing(src, rng)), destination(Listing(dst, rng));
    Stats stats;
    DeleteSpool deletes;
    Merger merger(options, source, &destination, stats, deletes, 512);
    std::set<std::string> copied;
    for (;;) {
      auto batch = merger.Next();
      ASSERT_TRUE(batch.ok()) << batch.error().ToString();
      if (!*batch) break;
      for (const auto& t : **batch) copied.insert(t->source.rel);
    }
    resorted += merger.resorted();
    std::set<std::string> deleted;
    ASSERT_TRUE(deletes.ForEach([&](StreamEntry& e) { return deleted.insert(e.rel), OkStatus(); }).ok());
    std::set<std::string> want_deleted, must_copy;
    for (const auto& [k, etag] : dst) {
      if (!src.count(k)) want_deleted.insert(k);
    }
    for (const auto& [k, etag] : src) {
      if (!dst.count(k) || dst.at(k) != etag) must_copy.insert(k);
    }
    EXPECT_EQ(deleted, want_deleted) << "round " << round;
    EXPECT_TRUE(std::includes(copied.begin(), copied.end(), must_copy.begin(), must_copy.end())) << round;
    for (const auto& k : copied) EXPECT_TRUE(src.count(k)) << k;
    EXPECT_EQ(stats.listed.load(), src.size()) << round;
  }
  EXPECT_GT(resorted, 150);
}

}  // namespace
}  // namespace riptide::engine
