// The dataset directory: every write goes through here. Paths are resolved with
// openat() one segment at a time, never following symlinks, so nothing outside the
// directory is touched; files appear under their final names only by rename.
#pragma once

#include <sys/stat.h>

#include <sys/types.h>

#include <dirent.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

/// An open directory descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

/// A file being written beside its final name.
struct TempFile {
  std::shared_ptr<Fd> dir;  // the parent directory
  Fd file;
  std::string temp_name;   // within `dir`
  std::string final_name;  // within `dir`
};

class Dataset {
 public:
  /// Opens (creating) the dataset root and the state directory, and takes two locks: the
  /// dataset's own (ROOT/.riptide/dataset.lock, whatever the state directory is; shared by
  /// the shards of one plan when `shard` is set, otherwise held alone) and the state
  /// directory's. A second riptide on the same dataset fails here.
  static Result<std::unique_ptr<Dataset>> Open(const std::string& root, const std::string& state_dir,
                                               bool shard = false);

  const std::string& root() const { return root_; }
  const std::string& state_dir() const { return state_dir_; }
  /// Names differing only in case are one name on this file system (exFAT, FAT, SMB).
  bool folds_case() const { return folds_case_; }
  /// The NFC and NFD spellings of a name are one name here (APFS, HFS+, casefolded ext4).
  bool normalizes_names() const { return normalizes_names_; }

  /// Creates the folder `rel` (and its parents).
  Status MakeFolder(const std::string& rel);
  /// Creates parents as needed and a fresh temp file beside `rel`, sized to `size`.
  Result<TempFile> CreateTemp(const std::string& rel, uint64_t size);
  /// Sets the mtime, then renames the temp file over the final name. Returns the mtime set (ns).
  Result<int64_t> Commit(TempFile& temp, int64_t mtime_ms);
  /// Reopens the temp file `temp_name` beside `rel` that an interrupted run left (resume);
  /// fails unless it exists and holds `size` bytes.
  Result<TempFile> ReopenTemp(const std::string& rel, const std::string& temp_name, uint64_t size);
  /// The size and mtime (ns) of the file `rel`, without following symlinks; nullopt when
  /// it is missing or not a regular file.
  std::optional<std::pair<uint64_t, int64_t>> StatFile(const std::string& rel);
  /// True when `rel` is a folder (not through a symlink).
  bool IsFolder(const std::string& rel);
  /// Opens the file `rel` for reading, never through a symlink.
  Result<Fd> OpenForRead(const std::string& rel);
  /// Every regular file under the root (relative paths), but the state directory and
  /// temp files; symlinks are not followed.
  std::vector<std::string> ListFiles();
  /// Deletes the file `rel` (never a folder, never through a symlinked folder).
  Status RemoveFile(const std::string& rel);
  /// Removes the temp file `temp_name` beside `rel`, if it is still there.
  void RemoveTemp(const std::string& rel, const std::string& temp_name);
  /// Removes a temp file that will not be committed.
  void Discard(TempFile& temp);
  /// Makes every rename so far durable (syncfs on the dataset's file system).
  Status Sync();
  /// Removes temp files a killed run left behind, but those named in `keep` (resumable
  /// downloads); returns how many.
  size_t RemoveStaleTemps(const std::set<std::string>& keep);

 private:
  Dataset(std::string root, std::string state_dir, Fd root_fd, Fd dataset_lock_fd, Fd lock_fd)
      : root_(std::move(root)), state_dir_(std::move(state_dir)), root_fd_(std::move(root_fd)),
        dataset_lock_fd_(std::move(dataset_lock_fd)), lock_fd_(std::move(lock_fd)) {}
  Result<std::shared_ptr<Fd>> OpenDir(const std::string& rel, bool create);
  std::optional<struct stat> Lstat(const std::string& rel);
  bool folds_case_ = false;
  bool normalizes_names_ = false;
  // Calls `on_entry` for every entry that is not a folder, below the root.
  void Walk(const std::function<void(int dir_fd, const std::string& prefix, const dirent& entry)>& on_entry);
  // Opens `rel` below an already-open ancestor, creating segments as needed.
  Result<std::shared_ptr<Fd>> WalkFrom(std::shared_ptr<Fd> dir, size_t done, const std::string& rel,
                                       bool create);

  // Open folder descriptors by relative path: most objects share a folder with the one
  // before them, and walking from the root costs an openat per segment.
  static constexpr size_t kMaxCachedDirs = 4096;
  std::mutex dir_cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<Fd>> dir_cache_;

  std::string root_;
  std::string state_dir_;
  Fd root_fd_;
  Fd dataset_lock_fd_;
  Fd lock_fd_;
};

/// "No space left on device" and friends, as a one-line error naming the path.
Error IoError(const std::string& what, const std::string& path, int err);

/// `path` and any folder above it that is missing, as `mkdir -p`; `path` itself, when
/// made here, with `mode` (0700 for riptide's own state folders).
Status MakeDirs(const std::string& path, mode_t mode = 0755);

}  // namespace riptide::engine
