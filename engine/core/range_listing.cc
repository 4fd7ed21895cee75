#include "engine/core/range_listing.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "engine/core/info_codec.h"
#include "engine/core/read_at.h"
#include "planner/shard_plan.h"

namespace riptide::engine {
namespace {

constexpr size_t kMaxRanges = 512;  // each range not yet read back may hold a temp file open

Error SpoolError() {
  return MakeError(ErrorCode::kIo, "cannot spool the listing to a temp file in $TMPDIR (is the disk full?)");
}

// A record of kept keys: its length, the count, then each ObjectInfo.
std::string Record(const std::vector<s3::ObjectInfo>& objects, size_t n) {
  std::string rec(2 * sizeof(uint32_t), '\0');
  for (size_t i = 0; i < n; ++i) codec::PutInfo(&rec, objects[i]);
  const uint32_t length = static_cast<uint32_t>(rec.size() - sizeof(uint32_t)),
                 count = static_cast<uint32_t>(n);
  std::memcpy(rec.data(), &length, sizeof length);
  std::memcpy(rec.data() + sizeof length, &count, sizeof count);
  return rec;
}

bool PreadAll(int fd, char* data, size_t size, uint64_t offset) {
  return ReadAt(fd, data, size, offset) == static_cast<ssize_t>(size);
}

// The record at `offset` of a range's spool as a page; false when it cannot be read back.
bool ReadRecord(int fd, uint64_t offset, uint32_t* length, s3::ListPage* page) {
  uint32_t count = 0;
  if (!PreadAll(fd, reinterpret_cast<char*>(length), sizeof *length, offset)) return false;
  std::string body(*length, '\0');
  if (!PreadAll(fd, body.data(), *length, offset + sizeof *length)) return false;
  std::string_view in(body);
  if (in.size() < sizeof count) return false;
  std::memcpy(&count, in.data(), sizeof count);
  in.remove_prefix(sizeof count);
  page->objects.resize(count);
  for (auto& o : page->objects) {
    if (!codec::TakeInfo(&in, &o)) return false;
  }
  return true;
}

bool PwriteAll(int fd, const std::string& data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

// Keys in (after, last] of the prefix; `last` empty: to the end.
struct RangeLister::Range {
  ~Range() {
    if (file) std::fclose(file);
  }
  std::string after, last;
  std::string token;   // where the listing resumes (the first range, after Start)
  std::string cursor;  // the last key kept
  bool claimed = false, done = false, more = false;  // more: its last page said more follow
  uint64_t pages = 0, pages_since_split = 0;
  uint64_t keys = 0;  // kept so far
  std::FILE* file = nullptr;
  uint64_t written = 0, read = 0;
};

RangeLister::RangeLister(ListTarget target, s3::ListParams params, int concurrency,
                         std::string last_key, uint64_t spool_limit)
    : target_(std::move(target)),
      params_(std::move(params)),
      concurrency_(std::max(1, concurrency)),
      last_key_(std::move(last_key)),
      spool_limit_(spool_limit) {}

RangeLister::~RangeLister() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& w : workers_) w.join();
}

Status RangeLister::Start() {
  auto first = ListOnePage(target_, params_);
  if (!first.ok()) return first.error();
  auto range = std::make_unique<Range>();
  range->after = params_.start_after;
  range->last = last_key_;
  range->cursor = params_.start_after;
  Range& r = *range;
  ranges_.push_back(std::move(range));
  std::string record;
  const bool more = Keep(r, *first, &record);
  if (!record.empty()) {
    r.file = codec::SpoolFile();
    if (!r.file || !PwriteAll(fileno(r.file), record, 0)) return SpoolError();
    r.written = spooled_ = record.size();
  }
  r.done = !more;
  r.token = first->next_continuation_token;
  if (more && !disordered_) SeedRanges(r);  // out of order, ranges would each list to the end
  for (int i = 0; i < concurrency_; ++i) workers_.emplace_back([this] { Work(); });
  return OkStatus();
}

// The bucket's own folders are the best first cuts: one delimiter listing after the first
// page names them, and the rest of the prefix starts as up to a range per worker, cut at
// folders spread evenly among them (each range costs a partial page; stealing evens out
// the rest). A folder "p/05/" is a cut: "p/05" and what sorts before it stay below,
// everything under it goes above. Without folders the first range is split as it lists.
// A failed look is no error: the listing works without it.
void RangeLister::SeedRanges(Range& first) {
  s3::ListParams folders = params_;
  folders.delimiter = "/";
  folders.start_after = first.cursor;
  folders.continuation_token.clear();
  auto page = ListOnePage(target_, folders);
  if (!page.ok()) return;
  std::vector<std::string> cuts;
  for (const auto& p : page->common_prefixes) {
    if (p > first.cursor && (first.last.empty() || p < first.last)) cuts.push_back(p);
  }
  const size_t want = static_cast<size_t>(concurrency_);
  const size_t step = std::max<size_t>(1, (cuts.size() + want - 1) / want);
  const std::string end = first.last;
  for (size_t i = step; i <= cuts.size(); i += step) {
    auto upper = std::make_unique<Range>();
    upper->after = upper->cursor = cuts[i - 1];
    upper->last = i + step <= cuts.size() ? cuts[i + step - 1] : end;
    ranges_.push_back(std::move(upper));  // `first` is the only range so far
  }
  if (step <= cuts.size()) first.last = cuts[step - 1];
}

void RangeLister::Work() {
  for (;;) {
    Range* range = nullptr;
    {
      std::unique_lock lk(mu_);
      changed_.wait(lk, [&] {
        if (stopping_ || (target_.stop && *target_.stop)) return true;
        range = Claim();
        return range != nullptr ||
               std::all_of(ranges_.begin(), ranges_.end(), [](const auto& r) { return r->done; });
      });
      if (!range) return;
    }
    ListRange(*range);
  }
}

RangeLister::Range* RangeLister::Claim() {
  for (auto& r : ranges_) {
    if (!r->claimed && !r->done) {
      r->claimed = true;
      return r.get();
    }
  }
  return Split();
}

// How many keys a range has left, guessed from how densely its keys so far filled the
// key space it covered: positions are read below the longest prefix its start and
// cursor share, where the keys differ. An open end counts as the end of that subtree.
double RangeLister::KeysLeft(const Range& r) const {
  const std::string& from_key = r.after < params_.prefix ? params_.prefix : r.after;
  size_t common = 0;
  while (common < from_key.size() && common < r.cursor.size() && from_key[common] == r.cursor[common]) ++common;
  const std::string base = r.cursor.substr(0, common);
  const double from = planner::KeyPosition(from_key, base), at = planner::KeyPosition(r.cursor, base);
  const bool bounded = !r.last.empty() && r.last.compare(0, base.size(), base) == 0;
  const double end = bounded ? planner::KeyPosition(r.last, base) : 1.0;
  if (at <= from) return 0;
  return static_cast<double>(r.keys) * (end - at) / (at - from);
}

// The range with the most keys left (two pages at least) is cut at the middle of the
// key space it has left; the upper half becomes a new range after it.
RangeLister::Range* RangeLister::Split() {
  if (ranges_.size() >= kMaxRanges || disordered_)
    return nullptr;  // out of order, a cursor means nothing
  RangeList::iterator victim = ranges_.end();
  double widest = 0;
  for (auto it = ranges_.begin(); it != ranges_.end(); ++it) {
    const Range& r = **it;
    // A range unseen may be small; one just cut has to list a page at its new size first.
    if (r.done || !r.claimed || r.pages_since_split == 0 || !r.more) continue;
    const double left = KeysLeft(r);
    if (left < 2.0 * params_.max_keys) continue;  // a split would cost more requests than it saves
    if (victim == ranges_.end() || left > widest) victim = it, widest = left;
  }
  if (victim == ranges_.end()) return nullptr;
  Range& v = **victim;
  const std::string mid = planner::MidKey(v.cursor, v.last, params_.prefix);
  if (mid.empty()) return nullptr;
  auto upper = std::make_unique<Range>();
  upper->after = upper->cursor = mid;
  upper->last = v.last;
  upper->claimed = true;
  v.last = mid;
  v.pages_since_split = 0;
  return ranges_.insert(std::next(victim), std::move(upper))->get();
}

bool RangeLister::Keep(Range& range, s3::ListPage& page, std::string* record) {
  auto& objects = page.objects;
  auto by_key = [](const s3::ObjectInfo& a, const s3::ObjectInfo& b) { return a.key < b.key; };
  if (!std::is_sorted(objects.begin(), objects.end(), by_key) ||
      (!objects.empty() && objects.front().key <= range.cursor)) {  // at or before where it resumes
    disordered_ = true;
  }
  size_t n = objects.size();
  if (disordered_) {
    // Out of order, a page says nothing about where a range ends: each key is taken on
    // its own, and the range is listed to the server's end (it filters start-after).
    auto outside = [&](const s3::ObjectInfo& o) {
      return o.key <= range.after || (!range.last.empty() && o.key > range.last);
    };
    objects.erase(std::remove_if(objects.begin(), objects.end(), outside), objects.end());
    n = objects.size();
  } else if (!range.last.empty()) {
    n = static_cast<size_t>(
        std::find_if(objects.begin(), objects.end(),
                     [&](const s3::ObjectInfo& o) { return o.key > range.last; }) -
        objects.begin());
  }
  if (n > 0) {
    *record = Record(objects, n);
    range.cursor = std::max(range.cursor, objects[n - 1].key);
    range.keys += n;
  }
  ++range.pages;
  ++range.pages_since_split;
  const bool cut = !disordered_ && n < objects.size();
  range.more = page.is_truncated && !cut && !page.next_continuation_token.empty();
  return range.more;
}

// Under the lock: the listing cannot be whole, so no range is worth another request, and
// Next hands out this error in place of whatever the ranges still hold.
void RangeLister::Fail(Range& range, Error e) {
  range.done = true;
  stopping_ = true;
  if (!first_error_) first_error_ = std::move(e);
  changed_.notify_all();
}

bool RangeLister::MayRunAhead(const Range& range) const {
  return spooled_ < spool_limit_ || (!ranges_.empty() && ranges_.front().get() == &range);
}

void RangeLister::ListRange(Range& range) {
  s3::ListParams params = params_;
  params.start_after = range.after;
  params.continuation_token = range.token;
  ListingProgress progress;  // a server that repeats its tokens must not list for ever
  if (!range.token.empty()) (void)progress.Advance(true, range.token);
  for (;;) {
    {
      std::unique_lock lk(mu_);
      changed_.wait(lk, [&] { return stopping_ || MayRunAhead(range); });
      if (stopping_) return;
    }
    auto page = ListOnePage(target_, params);
    Status advanced =
        page.ok() ? progress.Advance(page->is_truncated, page->next_continuation_token) : OkStatus();
    std::string record;
    std::unique_lock lk(mu_);
    if (!page.ok() || !advanced.ok()) return Fail(range, page.ok() ? advanced.error() : page.error());
    const bool more = Keep(range, *page, &record);
    const uint64_t offset = range.written;
    if (!record.empty() && !range.file) range.file = codec::SpoolFile();
    std::FILE* file = range.file;
    lk.unlock();
    const bool wrote = record.empty() || (file && PwriteAll(fileno(file), record, offset));
    lk.lock();
    if (!wrote) return Fail(range, SpoolError());
    range.written += record.size();
    spooled_ += record.size();
    range.done = !more;
    changed_.notify_all();
    if (range.done) return;
    params.continuation_token = page->next_continuation_token;
  }
}

Result<std::shared_ptr<s3::ListPage>> RangeLister::Next() {
  std::unique_lock lk(mu_);
  for (;;) {
    if (failed_ || ended_ || (target_.stop && *target_.stop))
      return std::shared_ptr<s3::ListPage>();
    if (first_error_) {
      failed_ = true;  // nothing after a failed range is handed out
      return *first_error_;
    }
    if (ranges_.empty()) {
      // The end shows as an empty page that is not truncated, as a last page would: what
      // reads completeness off the pages (a delete's precondition) sees it only now.
      ended_ = true;
      return std::make_shared<s3::ListPage>();
    }
    Range& r = *ranges_.front();
    if (r.read < r.written) {
      const uint64_t offset = r.read;
      const int fd = fileno(r.file);
      lk.unlock();
      uint32_t length = 0;
      auto page = std::make_shared<s3::ListPage>();
      if (!ReadRecord(fd, offset, &length, page.get())) {
        return MakeError(ErrorCode::kIo, "cannot read back the spooled listing");
      }
      lk.lock();
      r.read += sizeof length + length;
      spooled_ -= sizeof length + length;
      // The last page of the last range, that range done, is the listing's last and says
      // so (not truncated), as a sequential listing's would: what waits for the end (the
      // diff's finish, the progress line's totals) need not wait for one page more.
      page->is_truncated = !(ranges_.size() == 1 && r.done && r.read == r.written && !first_error_);
      ended_ = !page->is_truncated;
      changed_.notify_all();
      return page;
    }
    if (r.done) {
      ranges_.pop_front();
      changed_.notify_all();
      continue;
    }
    changed_.wait_for(lk, std::chrono::milliseconds(100));
  }
}

}  // namespace riptide::engine
