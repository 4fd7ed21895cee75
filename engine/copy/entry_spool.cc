#include "engine/copy/entry_spool.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/core/info_codec.h"

namespace riptide::engine {
namespace {

// A record: its length, then the entry's fields.
bool WriteEntry(std::FILE* f, const StreamEntry& e) {
  std::string rec(sizeof(uint32_t), '\0');
  codec::PutString(&rec, e.rel);
  codec::PutInfo(&rec, e.info);
  codec::PutString(&rec, e.path);
  codec::PutU64(&rec, e.dev);
  codec::PutU64(&rec, e.ino);
  const uint32_t n = static_cast<uint32_t>(rec.size() - sizeof n);
  std::memcpy(rec.data(), &n, sizeof n);
  return std::fwrite(rec.data(), 1, rec.size(), f) == rec.size();
}

// False at a clean end of the file; an entry cut short is an error.
Result<bool> ReadEntry(std::FILE* f, StreamEntry* e) {
  uint32_t n = 0;
  if (std::fread(&n, sizeof n, 1, f) != 1) {
    if (std::feof(f) && !std::ferror(f)) return false;
    return MakeError(ErrorCode::kIo, "cannot read back the spooled listing");
  }
  std::string rec(n, '\0');
  std::string_view in(rec);
  if ((n > 0 && std::fread(rec.data(), 1, n, f) != n) || !codec::TakeString(&in, &e->rel) ||
      !codec::TakeInfo(&in, &e->info) || !codec::TakeString(&in, &e->path) || !codec::TakeU64(&in, &e->dev) ||
      !codec::TakeU64(&in, &e->ino)) {
    return MakeError(ErrorCode::kIo, "the spooled listing is short");
  }
  return true;
}

Error SpoolError() { return MakeError(ErrorCode::kIo, "cannot spool the listing to a temp file (is the disk full?)"); }

// What an entry costs in memory, roughly: the strings and the struct.
size_t Footprint(const StreamEntry& e) {
  return sizeof(StreamEntry) + e.rel.capacity() + e.info.key.capacity() + e.info.etag.capacity() +
         e.info.storage_class.capacity() + e.info.checksum_algorithm.capacity() + e.path.capacity();
}

}  // namespace

EntrySpool::EntrySpool() : file_(codec::SpoolFile()) {}

EntrySpool::~EntrySpool() {
  if (file_) std::fclose(file_);
}

Status EntrySpool::Add(const StreamEntry& entry) {
  if (!file_ || !WriteEntry(file_, entry)) return SpoolError();
  ++count_;
  return OkStatus();
}

Status EntrySpool::ForEach(const std::function<Status(StreamEntry& entry)>& fn) {
  if (count_ == 0) return OkStatus();
  if (std::fflush(file_) != 0) return SpoolError();
  std::rewind(file_);
  StreamEntry entry;
  for (uint64_t i = 0; i < count_; ++i) {
    auto r = ReadEntry(file_, &entry);
    if (!r.ok()) return r.error();
    if (!*r) return MakeError(ErrorCode::kIo, "the spool is short");
    if (Status st = fn(entry); !st.ok()) return st;
  }
  std::fseek(file_, 0, SEEK_END);  // later Adds append
  return OkStatus();
}

Status EntrySpool::Clear() {
  if (file_) std::fclose(file_);
  file_ = codec::SpoolFile();
  count_ = 0;
  return file_ ? OkStatus() : SpoolError();
}

// One sorted run on disk and the entry at its head.
struct SortedSpool::Run {
  ~Run() {
    if (file) std::fclose(file);
  }
  std::FILE* file = nullptr;
  StreamEntry head;
  bool has_head = false;

  Status Advance() {
    auto r = ReadEntry(file, &head);
    if (!r.ok()) return r.error();
    has_head = *r;
    return OkStatus();
  }
};

SortedSpool::SortedSpool(size_t memory_budget) : budget_(memory_budget) {}

SortedSpool::~SortedSpool() = default;

Status SortedSpool::Add(StreamEntry entry) {
  held_bytes_ += Footprint(entry);
  held_.push_back(std::move(entry));
  if (held_bytes_ < budget_) return OkStatus();
  if (Status st = Spill(); !st.ok()) return st;
  return runs_.size() >= kMaxRuns ? MergeRuns() : OkStatus();
}

Status SortedSpool::Spill() {
  std::stable_sort(held_.begin(), held_.end(), [](const StreamEntry& a, const StreamEntry& b) { return a.rel < b.rel; });
  auto run = std::make_unique<Run>();
  run->file = codec::SpoolFile();
  if (!run->file) return SpoolError();
  for (const StreamEntry& e : held_) {
    if (!WriteEntry(run->file, e)) return SpoolError();
  }
  if (std::fflush(run->file) != 0) return SpoolError();
  std::rewind(run->file);
  held_.clear();
  held_.shrink_to_fit();
  held_bytes_ = 0;
  runs_.push_back(std::move(run));
  return OkStatus();
}

// Every run merged into one, which keeps the first place: equal keys stay in order.
Status SortedSpool::MergeRuns() {
  auto merged = std::make_unique<Run>();
  merged->file = codec::SpoolFile();
  if (!merged->file) return SpoolError();
  for (auto& run : runs_) {
    if (Status st = run->Advance(); !st.ok()) return st;
  }
  StreamEntry e;
  for (;;) {
    auto r = NextOfRuns(&e);
    if (!r.ok()) return r.error();
    if (!*r) break;
    if (!WriteEntry(merged->file, e)) return SpoolError();
  }
  if (std::fflush(merged->file) != 0) return SpoolError();
  std::rewind(merged->file);
  runs_.clear();
  runs_.push_back(std::move(merged));
  return OkStatus();
}

Status SortedSpool::Seal() {
  sealed_ = true;
  if (runs_.empty()) {  // it all fitted in memory
    std::stable_sort(held_.begin(), held_.end(),
                     [](const StreamEntry& a, const StreamEntry& b) { return a.rel < b.rel; });
    return OkStatus();
  }
  if (!held_.empty()) {
    if (Status st = Spill(); !st.ok()) return st;
  }
  for (auto& run : runs_) {
    if (Status st = run->Advance(); !st.ok()) return st;
  }
  return OkStatus();
}

// The smallest head of the runs (the earliest run on a tie), and that run advanced.
// Runs are few (kMaxRuns at most), so a scan beats keeping a heap in step.
Result<bool> SortedSpool::NextOfRuns(StreamEntry* out) {
  Run* best = nullptr;
  for (auto& run : runs_) {
    if (run->has_head && (!best || run->head.rel < best->head.rel)) best = run.get();
  }
  if (!best) return false;
  *out = std::move(best->head);
  if (Status st = best->Advance(); !st.ok()) return st.error();
  return true;
}

Result<bool> SortedSpool::Next(StreamEntry* out) {
  if (!sealed_) return MakeError(ErrorCode::kInternal, "a sorted spool read before it was sealed");
  Result<bool> r = false;
  if (runs_.empty()) {
    r = next_held_ < held_.size();
    if (*r) *out = std::move(held_[next_held_++]);
  } else {
    r = NextOfRuns(out);
  }
  if (!r.ok()) return r;
  if (*r) {
    Saw(out->rel);
  } else {
    complete_ = true;
  }
  return r;
}

}  // namespace riptide::engine
