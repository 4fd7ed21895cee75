#include "engine/copy/object_streams.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/core/head_keys.h"

namespace riptide::engine {

void ObjectStream::Saw(const std::string& rel) {
  if (any_ && rel <= last_) sorted_ = false;
  last_ = rel;
  any_ = true;
}

Result<bool> ObjectStream::Contains(const std::string& rel) {
  return MakeError(ErrorCode::kInternal, "this source cannot look up '" + rel + "'");
}

namespace {

s3::ListParams PrefixParams(std::string prefix, int page_size) {
  s3::ListParams p;
  p.prefix = std::move(prefix);
  p.max_keys = page_size;
  return p;
}

}  // namespace

BucketStream::BucketStream(ListTarget target, std::string prefix, int page_size, int list_concurrency)
    : target_(target), bucket_(target.bucket), prefix_(prefix),
      reader_(std::move(target), PrefixParams(std::move(prefix), page_size), list_concurrency) {}

Status BucketStream::Start() {
  if (Status st = reader_.Start(); !st.ok()) {
    Error e = st.error();
    e.message = "cannot list " + Where() + ": " + e.message;
    return e;
  }
  return OkStatus();
}

Result<bool> BucketStream::Next(StreamEntry* out) {
  while (!page_ || index_ >= page_->objects.size()) {
    auto page = reader_.Next();
    if (!page.ok()) {
      Error e = page.error();
      e.message = "listing " + Where() + " failed part-way: " + e.message;
      return e;
    }
    if (!*page) {
      complete_ = true;
      return false;
    }
    page_ = std::move(*page);
    index_ = 0;
    CheckPageOrder();
  }
  s3::ObjectInfo& o = page_->objects[index_++];
  if (o.key.compare(0, prefix_.size(), prefix_) != 0) {
    return MakeError(ErrorCode::kProtocol, "the listing of prefix '" + prefix_ + "' returned key '" + o.key + "'");
  }
  out->rel = o.key.substr(prefix_.size());
  out->info = std::move(o);
  out->path.clear();
  Saw(out->rel);
  return true;
}

void BucketStream::CheckPageOrder() {
  const auto& objects = page_->objects;
  if (objects.empty()) return;
  const std::string* previous = any_ ? &last_ : nullptr;  // last_ is relative, keys are whole
  const std::string first = objects.front().key.substr(std::min(prefix_.size(), objects.front().key.size()));
  bool in_order = !previous || *previous < first;
  for (size_t i = 1; in_order && i < objects.size(); ++i) in_order = objects[i - 1].key < objects[i].key;
  if (!in_order) sorted_ = false;
}

Result<bool> BucketStream::Contains(const std::string& rel) {
  auto answers = HeadKeys(target_.transport, target_.requests, bucket_, {prefix_ + rel}, target_.Scope());
  if (answers[0].ok()) return true;
  if (answers[0].error().code == ErrorCode::kNotFound) return false;
  Error e = answers[0].error();
  e.message = "cannot look up s3://" + bucket_ + "/" + prefix_ + rel + ": " + e.message;
  return e;
}

Result<int> OpenListedFile(const StreamEntry& file) {
  auto fail = [&](const std::string& why) {
    return MakeError(ErrorCode::kIo, file.path + " " + why + ": not read; the next run looks again");
  };
  int fd = ::open(file.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    Error e = MakeError(ErrorCode::kIo, "cannot open " + file.path + ": " + std::strerror(errno));
    e.os_errno = errno;
    return e;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("is no longer a regular file");
  }
  if (file.ino != 0 && (static_cast<uint64_t>(st.st_dev) != file.dev || static_cast<uint64_t>(st.st_ino) != file.ino)) {
    ::close(fd);
    return fail("is not the file riptide listed (replaced, or a folder on its path swapped for a link)");
  }
  return fd;
}

// One open directory: its entries sorted by key order, and the next to hand out.
struct LocalTreeStream::Level {
  ~Level() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;      // the directory, reached from the root without a symlink
  std::string rel;  // "" or "a/b/"
  struct Name {
    std::string sort_key;  // the name, with '/' appended for a folder
    bool folder;
  };
  std::vector<Name> names;
  size_t next = 0;
};

LocalTreeStream::LocalTreeStream(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

LocalTreeStream::~LocalTreeStream() = default;

Status LocalTreeStream::Start() {
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    Error e = MakeError(ErrorCode::kInvalidArgument, "cannot read the directory " + root_ + ": " +
                                                         (errno ? std::strerror(errno) : "not a directory"));
    return e;
  }
  return Enter("");
}

Status LocalTreeStream::Enter(const std::string& rel) {
  const std::string dir = root_ + "/" + rel;
  // Each folder is opened from its parent's descriptor, never through a symlink: a folder
  // swapped for a link (to /etc) after it was listed is not entered.
  int fd;
  if (rel.empty()) {
    fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } else {
    const std::string name = rel.substr(levels_.back()->rel.size(), rel.size() - levels_.back()->rel.size() - 1);
    fd = ::openat(levels_.back()->fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)) {
      spdlog::warn("skipping {}: no longer a folder (replaced while riptide walked the tree)", rel);
      ++skipped_;
      return OkStatus();
    }
  }
  DIR* d = fd < 0 ? nullptr : ::fdopendir(::dup(fd));
  if (!d) {
    Error e = MakeError(ErrorCode::kIo, "cannot read the directory " + dir + ": " + std::strerror(errno));
    e.os_errno = errno;
    if (fd >= 0) ::close(fd);
    return e;
  }
  auto level = std::make_unique<Level>();
  level->fd = fd;
  level->rel = rel;
  while (dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    if (rel.empty() && name == ".riptide") continue;  // a dataset's own state
    struct stat st {};
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (S_ISDIR(st.st_mode)) {
      level->names.push_back({name + "/", true});
    } else if (S_ISREG(st.st_mode)) {
      level->names.push_back({name, false});
    } else {
      spdlog::warn("skipping {}{}: not a regular file or folder", rel, name);
      ++skipped_;
    }
  }
  ::closedir(d);
  std::sort(level->names.begin(), level->names.end(),
            [](const Level::Name& a, const Level::Name& b) { return a.sort_key < b.sort_key; });
  levels_.push_back(std::move(level));
  return OkStatus();
}

Result<bool> LocalTreeStream::Next(StreamEntry* out) {
  while (!levels_.empty()) {
    Level& level = *levels_.back();
    if (level.next >= level.names.size()) {
      levels_.pop_back();
      continue;
    }
    const Level::Name& name = level.names[level.next++];
    const std::string rel = level.rel + name.sort_key;
    if (name.folder) {
      if (Status st = Enter(rel); !st.ok()) return st.error();
      continue;
    }
    struct stat st {};
    const std::string path = root_ + "/" + rel;
    if (::fstatat(level.fd, name.sort_key.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;  // gone or replaced meanwhile
    }
    out->rel = rel;
    out->path = path;
    out->dev = static_cast<uint64_t>(st.st_dev);
    out->ino = static_cast<uint64_t>(st.st_ino);
    out->info = s3::ObjectInfo{};
    out->info.size = static_cast<uint64_t>(st.st_size);
    out->info.last_modified_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    Saw(rel);
    return true;
  }
  complete_ = true;
  return false;
}

Result<bool> LocalTreeStream::Contains(const std::string& rel) {
  if (rel.empty() || rel.back() == '/' || rel == ".riptide" || rel.rfind(".riptide/", 0) == 0) return false;
  std::string path = root_;
  for (size_t start = 0;;) {
    const size_t slash = rel.find('/', start);
    const std::string name = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (name.empty() || name == "." || name == "..") return false;  // no file the walk could list
    path += "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return false;
      Error e = MakeError(ErrorCode::kIo, "cannot look up " + path + ": " + std::strerror(errno));
      e.os_errno = errno;
      return e;
    }
    if (slash == std::string::npos) return S_ISREG(st.st_mode);
    if (!S_ISDIR(st.st_mode)) return false;  // a symlink or a file where a folder would be
    start = slash + 1;
  }
}

Result<bool> EntryStream::Next(StreamEntry* out) {
  if (next_ >= entries_.size()) {
    complete_ = true;
    return false;
  }
  *out = entries_[next_++];
  return true;
}

KeyListStream::KeyListStream(ListTarget target, std::string prefix, std::vector<std::string> keys, int chunk)
    : target_(std::move(target)), prefix_(std::move(prefix)), keys_(std::move(keys)),
      chunk_(static_cast<size_t>(std::max(1, chunk))) {
  std::sort(keys_.begin(), keys_.end());  // in key order, each once, as a listing would be
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
}

Status KeyListStream::HeadChunk() {
  const size_t end = std::min(keys_.size(), next_key_ + chunk_);
  std::vector<std::string> chunk(keys_.begin() + static_cast<std::ptrdiff_t>(next_key_),
                                 keys_.begin() + static_cast<std::ptrdiff_t>(end));
  next_key_ = end;
  const RetryScope scope{target_.retry, target_.stop, target_.stats};
  auto found = HeadKeyChunk(target_.transport, target_.requests, target_.bucket, chunk, scope, target_.stats);
  if (!found.ok()) return found.error();
  ready_.clear();
  next_ready_ = 0;
  for (auto& info : *found) {
    StreamEntry entry;
    entry.rel = info.key.substr(std::min(prefix_.size(), info.key.size()));
    entry.info = std::move(info);
    ready_.push_back(std::move(entry));
  }
  return OkStatus();
}

Result<bool> KeyListStream::Next(StreamEntry* out) {
  while (next_ready_ >= ready_.size()) {
    if (next_key_ >= keys_.size() || (target_.stop && *target_.stop)) {
      complete_ = next_key_ >= keys_.size();
      return false;
    }
    if (Status st = HeadChunk(); !st.ok()) return st.error();
  }
  *out = std::move(ready_[next_ready_++]);
  Saw(out->rel);
  return true;
}

}  // namespace riptide::engine
