#include "engine/copy/entry_spool.h"

#include <algorithm>
#include <queue>
#include <string>

namespace riptide::engine {
namespace {

bool PutU64(std::FILE* f, uint64_t v) { return std::fwrite(&v, sizeof v, 1, f) == 1; }

bool PutString(std::FILE* f, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  return std::fwrite(&n, sizeof n, 1, f) == 1 && (n == 0 || std::fwrite(s.data(), 1, n, f) == n);
}

bool GetU64(std::FILE* f, uint64_t* v) { return std::fread(v, sizeof *v, 1, f) == 1; }

bool GetString(std::FILE* f, std::string* s) {
  uint32_t n = 0;
  if (std::fread(&n, sizeof n, 1, f) != 1) return false;
  s->resize(n);
  return n == 0 || std::fread(s->data(), 1, n, f) == n;
}

bool WriteEntry(std::FILE* f, const StreamEntry& e) {
  const s3::ObjectInfo& i = e.info;
  return PutString(f, e.rel) && PutString(f, i.key) && PutU64(f, i.size) && PutString(f, i.etag) &&
         PutU64(f, static_cast<uint64_t>(i.last_modified_ms)) && PutString(f, i.storage_class) &&
         PutString(f, i.checksum_algorithm) && PutString(f, e.path) && PutU64(f, e.dev) && PutU64(f, e.ino);
}

// False at a clean end of the file; an entry cut short is an error.
Result<bool> ReadEntry(std::FILE* f, StreamEntry* e) {
  s3::ObjectInfo& i = e->info;
  if (!GetString(f, &e->rel)) {
    if (std::feof(f) && !std::ferror(f)) return false;
    return MakeError(ErrorCode::kIo, "cannot read back the spooled listing");
  }
  uint64_t modified = 0;
  if (!GetString(f, &i.key) || !GetU64(f, &i.size) || !GetString(f, &i.etag) || !GetU64(f, &modified) ||
      !GetString(f, &i.storage_class) || !GetString(f, &i.checksum_algorithm) || !GetString(f, &e->path) ||
      !GetU64(f, &e->dev) || !GetU64(f, &e->ino)) {
    return MakeError(ErrorCode::kIo, "the spooled listing is short");
  }
  i.last_modified_ms = static_cast<int64_t>(modified);
  return true;
}

Error SpoolError() { return MakeError(ErrorCode::kIo, "cannot spool the listing to a temp file (is the disk full?)"); }

// What an entry costs in memory, roughly: the strings and the struct.
size_t Footprint(const StreamEntry& e) {
  return sizeof(StreamEntry) + e.rel.capacity() + e.info.key.capacity() + e.info.etag.capacity() +
         e.info.storage_class.capacity() + e.info.checksum_algorithm.capacity() + e.path.capacity();
}

}  // namespace

EntrySpool::EntrySpool() : file_(std::tmpfile()) {}

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
  file_ = std::tmpfile();
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
  run->file = std::tmpfile();
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
  merged->file = std::tmpfile();
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
