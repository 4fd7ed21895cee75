#include "engine/copy/object_streams.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace riptide::engine {

void ObjectStream::Saw(const std::string& rel) {
  if (any_ && rel <= last_) sorted_ = false;
  last_ = rel;
  any_ = true;
}

namespace {

s3::ListParams PrefixParams(std::string prefix, int page_size) {
  s3::ListParams p;
  p.prefix = std::move(prefix);
  p.max_keys = page_size;
  return p;
}

}  // namespace

BucketStream::BucketStream(ListTarget target, std::string prefix, int page_size)
    : bucket_(target.bucket), prefix_(prefix), reader_(std::move(target), PrefixParams(std::move(prefix), page_size)) {}

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

// One open directory: its entries sorted by key order, and the next to hand out.
struct LocalTreeStream::Level {
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
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    Error e = MakeError(ErrorCode::kIo, "cannot read the directory " + dir + ": " + std::strerror(errno));
    e.os_errno = errno;
    return e;
  }
  auto level = std::make_unique<Level>();
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
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // gone meanwhile
    out->rel = rel;
    out->path = path;
    out->info = s3::ObjectInfo{};
    out->info.size = static_cast<uint64_t>(st.st_size);
    out->info.last_modified_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    Saw(rel);
    return true;
  }
  complete_ = true;
  return false;
}

}  // namespace riptide::engine
