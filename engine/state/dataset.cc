#include "engine/state/dataset.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "planner/key_mapping.h"
#include "transport/strings.h"

namespace riptide::engine {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.Release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Error IoError(const std::string& what, const std::string& path, int err) {
  Error e = MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(err));
  e.os_errno = err;
  return e;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    const bool last = pos == std::string::npos || pos + 1 == path.size();  // "dir/" too
    const mode_t m = last ? mode : 0755;
    if (::mkdir(partial.c_str(), m) != 0 && errno != EEXIST) return IoError("cannot create", partial, errno);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return IoError("cannot open", path, errno);
  if (!S_ISDIR(st.st_mode)) return MakeError(ErrorCode::kIo, path + " is not a directory");
  return OkStatus();
}

namespace {

constexpr uint64_t kPreallocateMinBytes = 1u << 20;

std::string RandomSuffix() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}() ^ (static_cast<uint64_t>(::getpid()) << 32);
  uint64_t v = seed + 0x9E3779B97F4A7C15ull * (++counter);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Paths come from keys (already mapped) but also from the manifest, which anyone with
// write access to the state directory can edit: each is checked again here, where it is
// used. Only plain segments: no "..", ".", empty segment or leading '/'.
Status Inside(const std::string& root, const std::string& rel) {
  size_t start = 0;
  while (true) {
    const size_t slash = rel.find('/', start);
    const std::string_view seg(rel.data() + start, (slash == std::string::npos ? rel.size() : slash) - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "'" + rel + "' is not a path inside " + root + ": refused (an edited manifest?)");
    }
    if (slash == std::string::npos) return OkStatus();
    start = slash + 1;
  }
}

// Opens `name` under `dir_fd` (never through a symlink) and takes `op` on it without
// waiting: a lock another riptide holds is the one clear error `held`.
Result<Fd> TakeLock(int dir_fd, const std::string& name, const std::string& path, int op, const std::string& held) {
  Fd lock(::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!lock.valid()) return IoError("cannot open", path, errno);
  if (::flock(lock.get(), op | LOCK_NB) == 0) return lock;
  if (errno == EWOULDBLOCK) return MakeError(ErrorCode::kInvalidArgument, held);
  return IoError("cannot lock", path, errno);
}

// The dataset's own lock, in ROOT/.riptide whatever --state-dir says: exclusive, or
// shared among the shards of one plan (each also holds its state directory's lock).
Result<Fd> LockDataset(const Fd& root_fd, const std::string& root, bool shard) {
  const std::string dir(planner::kStateDirName);
  if (::mkdirat(root_fd.get(), dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return IoError("cannot create", root + "/" + dir, errno);
  }
  Fd state(::openat(root_fd.get(), dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!state.valid()) return IoError("cannot open (a real directory is needed)", root + "/" + dir, errno);
  const std::string path = root + "/" + dir + "/dataset.lock";
  return TakeLock(state.get(), "dataset.lock", path, shard ? LOCK_SH : LOCK_EX,
                  "another riptide is already working on " + root + " (lock " + path +
                      "; shards of a plan may share a dataset, other runs may not)");
}

// Whether a probe file made in ROOT/.riptide as `made` is found as `sought`, another
// spelling of its name.
bool FoundAs(const Fd& root_fd, const std::string& made, const std::string& sought) {
  const std::string dir(planner::kStateDirName);
  Fd state(::openat(root_fd.get(), dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!state.valid()) return false;
  Fd probe(::openat(state.get(), made.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!probe.valid()) return false;
  const bool found = ::faccessat(state.get(), sought.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  ::unlinkat(state.get(), made.c_str(), 0);
  return found;
}

// Names differing only in case are one name here (exFAT, FAT, most SMB shares).
bool FoldsCase(const Fd& root_fd) {
  const std::string upper = "CaseProbe-" + std::to_string(::getpid());
  return FoundAs(root_fd, upper, AsciiLower(upper));
}

// The NFC and NFD spellings of a name are one name here (APFS, HFS+, ext4 and others
// with casefold): "é" as one code point, looked up as "e" and a combining accent.
bool NormalizesNames(const Fd& root_fd) {
  const std::string stem = "NormProbe-" + std::to_string(::getpid()) + "-";
  return FoundAs(root_fd, stem + "\xC3\xA9", stem + "e\xCC\x81");
}

}  // namespace

Result<std::unique_ptr<Dataset>> Dataset::Open(const std::string& root, const std::string& state_dir, bool shard) {
  if (Status st = MakeDirs(root); !st.ok()) return st.error();
  if (Status st = MakeDirs(state_dir); !st.ok()) return st.error();
  // A state directory swapped for a symlink would put the lock and the manifest (and
  // what deletes trust) wherever it points.
  struct stat link;
  if (::lstat(state_dir.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     state_dir + " is a symbolic link: riptide keeps its state only in a real directory "
                                 "(give the directory it points to, if that is meant)");
  }
  Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return IoError("cannot open", root, errno);
  auto dataset_lock = LockDataset(root_fd, root, shard);
  if (!dataset_lock.ok()) return dataset_lock.error();
  const std::string lock_path = state_dir + "/lock";
  auto lock_fd = TakeLock(AT_FDCWD, lock_path, lock_path, LOCK_EX,
                          "another riptide is already working on " + root + " (lock " + lock_path + ")");
  if (!lock_fd.ok()) return lock_fd.error();
  // Probe writability now, so a read-only destination is one clear error, not N failures.
  if (::faccessat(root_fd.get(), ".", W_OK, AT_EACCESS) != 0) {
    return IoError("cannot write to", root, errno);
  }
  const bool folds = FoldsCase(root_fd), normalizes = NormalizesNames(root_fd);
  auto dataset = std::unique_ptr<Dataset>(
      new Dataset(root, state_dir, std::move(root_fd), std::move(*dataset_lock), std::move(*lock_fd)));
  dataset->folds_case_ = folds;
  dataset->normalizes_names_ = normalizes;
  return dataset;
}

Result<std::shared_ptr<Fd>> Dataset::OpenDir(const std::string& rel, bool create) {
  if (!rel.empty()) {
    if (Status st = Inside(root_, rel); !st.ok()) return st.error();
  }
  std::shared_ptr<Fd> from;
  size_t done = 0;
  {
    std::lock_guard<std::mutex> lock(dir_cache_mu_);
    if (auto it = dir_cache_.find(rel); it != dir_cache_.end()) return it->second;
    // Start from the nearest cached ancestor rather than the root.
    for (size_t cut = rel.rfind('/'); cut != std::string::npos && cut > 0; cut = rel.rfind('/', cut - 1)) {
      if (auto it = dir_cache_.find(rel.substr(0, cut)); it != dir_cache_.end()) {
        from = it->second;
        done = cut + 1;
        break;
      }
    }
  }
  if (!from) from = std::make_shared<Fd>(::dup(root_fd_.get()));
  auto dir = WalkFrom(std::move(from), done, rel, create);
  if (dir.ok()) {
    std::lock_guard<std::mutex> lock(dir_cache_mu_);
    if (dir_cache_.size() >= kMaxCachedDirs) dir_cache_.clear();
    dir_cache_.emplace(rel, *dir);
  }
  return dir;
}

Result<std::shared_ptr<Fd>> Dataset::WalkFrom(std::shared_ptr<Fd> dir, size_t start, const std::string& rel,
                                              bool create) {
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    std::string seg = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? rel.size() : slash + 1;
    int fd = ::openat(dir->get(), seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir->get(), seg.c_str(), 0755) != 0 && errno != EEXIST) {
        return IoError("cannot create folder", root_ + "/" + rel.substr(0, start), errno);
      }
      fd = ::openat(dir->get(), seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int err = errno;
      if (err == ELOOP || err == ENOTDIR) {
        return MakeError(ErrorCode::kIo, root_ + "/" + rel.substr(0, start) +
                                             " is a file or a symlink, not a folder; not followed");
      }
      return IoError("cannot open folder", root_ + "/" + rel.substr(0, start), err);
    }
    dir = std::make_shared<Fd>(fd);
  }
  return dir;
}

Status Dataset::MakeFolder(const std::string& rel) {
  auto dir = OpenDir(rel, true);
  if (!dir.ok()) return dir.error();
  return OkStatus();
}

Result<TempFile> Dataset::CreateTemp(const std::string& rel, uint64_t size) {
  if (Status st = Inside(root_, rel); !st.ok()) return st.error();
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? std::string() : rel.substr(0, slash);
  TempFile t;
  t.final_name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  auto dir = OpenDir(parent, true);
  if (!dir.ok()) return dir.error();
  t.dir = std::move(*dir);
  t.temp_name = std::string(planner::kTempMarker) + RandomSuffix();
  t.file = Fd(::openat(t.dir->get(), t.temp_name.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!t.file.valid()) return IoError("cannot create a temp file in", root_ + "/" + parent, errno);
  if (size >= kPreallocateMinBytes) {
    // Reserve the space up front: a full disk fails here, before any byte is fetched.
    // Small files skip it: on ext4 it costs an unwritten extent the write must convert.
    int rc = ::posix_fallocate(t.file.get(), 0, static_cast<off_t>(size));
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
      ::unlinkat(t.dir->get(), t.temp_name.c_str(), 0);
      return IoError("cannot reserve space for", root_ + "/" + rel, rc);
    }
  }
  return t;
}

Result<int64_t> Dataset::Commit(TempFile& temp, int64_t mtime_ms) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = mtime_ms / 1000;
  times[1].tv_nsec = (mtime_ms % 1000) * 1000000;
  if (::futimens(temp.file.get(), times) != 0) return IoError("cannot set mtime of", temp.final_name, errno);
  if (::renameat(temp.dir->get(), temp.temp_name.c_str(), temp.dir->get(), temp.final_name.c_str()) != 0) {
    int err = errno;
    Discard(temp);
    return IoError("cannot rename into place", temp.final_name, err);
  }
  temp.file = Fd();
  return mtime_ms * 1000000;
}

Result<TempFile> Dataset::ReopenTemp(const std::string& rel, const std::string& temp_name, uint64_t size) {
  if (Status st = Inside(root_, rel); !st.ok()) return st.error();
  size_t slash = rel.rfind('/');
  TempFile t;
  t.final_name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  auto dir = OpenDir(slash == std::string::npos ? std::string() : rel.substr(0, slash), false);
  if (!dir.ok()) return dir.error();
  t.dir = std::move(*dir);
  t.file = Fd(::openat(t.dir->get(), temp_name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!t.file.valid()) return IoError("cannot reopen", temp_name, errno);
  struct stat st;
  if (::fstat(t.file.get(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) {
    return MakeError(ErrorCode::kIo, "the partial download " + temp_name + " is not what the journal says");
  }
  t.temp_name = temp_name;
  return t;
}

std::optional<struct stat> Dataset::Lstat(const std::string& rel) {
  size_t slash = rel.rfind('/');
  auto dir = OpenDir(slash == std::string::npos ? std::string() : rel.substr(0, slash), false);
  if (!dir.ok()) return std::nullopt;
  struct stat st;
  const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (::fstatat((*dir)->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  return st;
}

std::optional<std::pair<uint64_t, int64_t>> Dataset::StatFile(const std::string& rel) {
  auto st = Lstat(rel);
  if (!st || !S_ISREG(st->st_mode)) return std::nullopt;
  return std::make_pair(static_cast<uint64_t>(st->st_size),
                        static_cast<int64_t>(st->st_mtim.tv_sec) * 1000000000 + st->st_mtim.tv_nsec);
}

bool Dataset::IsFolder(const std::string& rel) {
  auto st = Lstat(rel);
  return st && S_ISDIR(st->st_mode);
}

Result<Fd> Dataset::OpenForRead(const std::string& rel) {
  if (Status st = Inside(root_, rel); !st.ok()) return st.error();
  size_t slash = rel.rfind('/');
  auto dir = OpenDir(slash == std::string::npos ? std::string() : rel.substr(0, slash), false);
  if (!dir.ok()) return dir.error();
  const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  Fd fd(::openat((*dir)->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return IoError("cannot open", root_ + "/" + rel, errno);
  return fd;
}

Status Dataset::RemoveFile(const std::string& rel) {
  if (Status st = Inside(root_, rel); !st.ok()) return st.error();
  size_t slash = rel.rfind('/');
  auto dir = OpenDir(slash == std::string::npos ? std::string() : rel.substr(0, slash), false);
  if (!dir.ok()) return dir.error();
  const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (::unlinkat((*dir)->get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return IoError("cannot delete", root_ + "/" + rel, errno);
  }
  return OkStatus();
}

void Dataset::RemoveTemp(const std::string& rel, const std::string& temp_name) {
  if (temp_name.rfind(planner::kTempMarker, 0) != 0) return;  // never anything but our own
  size_t slash = rel.rfind('/');
  auto dir = OpenDir(slash == std::string::npos ? std::string() : rel.substr(0, slash), false);
  if (dir.ok()) ::unlinkat((*dir)->get(), temp_name.c_str(), 0);
}

void Dataset::Discard(TempFile& temp) {
  if (temp.dir && !temp.temp_name.empty()) ::unlinkat(temp.dir->get(), temp.temp_name.c_str(), 0);
  temp.file = Fd();
  temp.temp_name.clear();
}

Status Dataset::Sync() {
  if (::syncfs(root_fd_.get()) != 0) return IoError("cannot sync", root_, errno);
  return OkStatus();
}

void Dataset::Walk(const std::function<void(int dir_fd, const std::string& prefix, const dirent& entry)>& on_entry) {
  // Depth-first, without following symlinks, leaving the state directory out.
  std::vector<std::pair<Fd, std::string>> stack;
  stack.emplace_back(Fd(::dup(root_fd_.get())), "");
  while (!stack.empty()) {
    auto [dir, prefix] = std::move(stack.back());
    stack.pop_back();
    DIR* d = ::fdopendir(dir.Release());
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      if (prefix.empty() && name == planner::kStateDirName) continue;
      if (e->d_type == DT_DIR) {
        int fd = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) stack.emplace_back(Fd(fd), prefix + std::string(name) + "/");
      } else {
        on_entry(::dirfd(d), prefix, *e);
      }
    }
    ::closedir(d);
  }
}

size_t Dataset::RemoveStaleTemps(const std::set<std::string>& keep) {
  size_t removed = 0;
  Walk([&](int dir_fd, const std::string&, const dirent& e) {
    std::string_view name(e.d_name);
    if (name.rfind(planner::kTempMarker, 0) == 0 && !keep.count(std::string(name)) &&
        ::unlinkat(dir_fd, e.d_name, 0) == 0) {
      ++removed;
    }
  });
  return removed;
}

std::vector<std::string> Dataset::ListFiles() {
  std::vector<std::string> files;
  Walk([&](int, const std::string& prefix, const dirent& e) {
    if (e.d_type == DT_REG && std::string_view(e.d_name).rfind(planner::kTempMarker, 0) != 0) {
      files.push_back(prefix + e.d_name);
    }
  });
  return files;
}

}  // namespace riptide::engine
