// How a download's bytes reach the disk, durable: buffered pwrite of each chunk as curl
// hands it (the page-cache copy) then one syncfs for the batch, against O_DIRECT writes of
// whole aligned parts (a copy into the part buffer in user space, none into the page
// cache) then fdatasync of each file. Prints wall, CPU and MB/s of each, alternating.
//
//   build/write_speed [DIR] [--files N] [--mib M] [--part-mib P] [--rounds R] [--threads T]
//   build/write_speed [DIR] --small N [--rounds R]      N files of 64 KiB: rename, O_TMPFILE
//                                                       or io_uring (with liburing-dev)
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#ifdef RIPTIDE_HAVE_LIBURING
#include <liburing.h>
#endif

namespace {

constexpr size_t kChunk = 64 << 10;  // what one curl write callback hands over, at most
constexpr size_t kAlign = 4096;

struct Settings {
  std::string dir = "/var/tmp";
  int files = 8;
  size_t file_bytes = size_t{256} << 20;
  size_t part_bytes = size_t{8} << 20;
  int rounds = 3;
  int threads = 4;  // O_DIRECT writers
  int small = 0;    // with --small N: N small files instead
  size_t small_bytes = size_t{64} << 10;
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::exit(1);
  }
}

std::string PathOf(const Settings& s, int i) { return s.dir + "/write_speed." + std::to_string(i) + ".tmp"; }

// Every chunk written where it lands, as the fetch stage does, then one syncfs.
void Buffered(const Settings& s, const std::vector<char>& source) {
  int last = -1;
  for (int i = 0; i < s.files; ++i) {
    int fd = ::open(PathOf(s, i).c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    Check(fd >= 0, "open");
    for (size_t at = 0; at < s.file_bytes; at += kChunk) {
      const size_t n = std::min(kChunk, s.file_bytes - at);
      Check(::pwrite(fd, source.data() + at % (source.size() - kChunk), n, static_cast<off_t>(at)) ==
                static_cast<ssize_t>(n),
            "pwrite");
    }
    if (last >= 0) ::close(last);
    last = fd;
  }
  Check(::syncfs(last) == 0, "syncfs");
  ::close(last);
}

// Chunks gathered into an aligned part buffer, each full part written with O_DIRECT, then
// fdatasync per file (O_DIRECT alone leaves the size and the device's cache unflushed).
// Files `first`, `first + step`, … on this thread.
void DirectFiles(const Settings& s, const std::vector<char>& source, int first, int step) {
  void* raw = nullptr;
  Check(::posix_memalign(&raw, kAlign, s.part_bytes) == 0, "posix_memalign");
  char* part = static_cast<char*>(raw);
  for (int i = first; i < s.files; i += step) {
    int fd = ::open(PathOf(s, i).c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_DIRECT, 0644);
    Check(fd >= 0, "open O_DIRECT");
    for (size_t start = 0; start < s.file_bytes; start += s.part_bytes) {
      const size_t length = std::min(s.part_bytes, s.file_bytes - start);
      for (size_t at = 0; at < length; at += kChunk) {
        const size_t n = std::min(kChunk, length - at);
        std::memcpy(part + at, source.data() + (start + at) % (source.size() - kChunk), n);
      }
      const size_t padded = (length + kAlign - 1) / kAlign * kAlign;
      Check(::pwrite(fd, part, padded, static_cast<off_t>(start)) == static_cast<ssize_t>(padded), "pwrite");
    }
    Check(::ftruncate(fd, static_cast<off_t>(s.file_bytes)) == 0, "ftruncate");
    Check(::fdatasync(fd) == 0, "fdatasync");
    ::close(fd);
  }
  std::free(raw);
}

// A blocking O_DIRECT write cannot run on the transport's thread: writers of their own,
// as many as parts the engine keeps in flight would need.
void Direct(const Settings& s, const std::vector<char>& source) {
  std::vector<std::thread> writers;
  for (int t = 0; t < s.threads; ++t) writers.emplace_back(DirectFiles, std::cref(s), std::cref(source), t, s.threads);
  for (auto& w : writers) w.join();
}

enum class SmallWay { kRename, kTmpfile, kUring };

const char* Name(SmallWay way) {
  switch (way) {
    case SmallWay::kRename: return "temp + rename + syncfs";
    case SmallWay::kTmpfile: return "O_TMPFILE + linkat + syncfs";
    case SmallWay::kUring: return "io_uring, 64 files a submit";
  }
  return "";
}

#ifdef RIPTIDE_HAVE_LIBURING
// The rename way with its system calls batched: each file is a linked chain open (into a
// registered slot) → write → close → rename, and 64 files' chains go in one submit.
// Any step that fails ends the program, as the other ways do.
void UringFiles(const Settings& s, const std::vector<std::string>& dirs, const std::vector<char>& source) {
  constexpr unsigned kBatch = 64;
  io_uring ring;
  Check(io_uring_queue_init(kBatch * 4, &ring, 0) == 0, "io_uring_queue_init");
  Check(io_uring_register_files_sparse(&ring, kBatch) == 0, "io_uring_register_files_sparse");
  std::vector<std::string> temps(kBatch), names(kBatch);
  for (int first = 0; first < s.small; first += static_cast<int>(kBatch)) {
    const int n = std::min<int>(static_cast<int>(kBatch), s.small - first);
    for (int k = 0; k < n; ++k) {
      const int i = first + k;
      const std::string& dir = dirs[static_cast<size_t>(i) % dirs.size()];
      temps[k] = dir + "/.obj-" + std::to_string(i) + ".bin.riptide-tmp";
      names[k] = dir + "/obj-" + std::to_string(i) + ".bin";
      const char* data = source.data() + (static_cast<size_t>(i) * 4096) % (source.size() - s.small_bytes);
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      // (A registered slot is never inherited: O_CLOEXEC is refused there.)
      io_uring_prep_openat_direct(sqe, AT_FDCWD, temps[k].c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644,
                                  static_cast<unsigned>(k));
      sqe->flags |= IOSQE_IO_LINK;
      sqe = io_uring_get_sqe(&ring);
      io_uring_prep_write(sqe, k, data, static_cast<unsigned>(s.small_bytes), 0);
      sqe->flags |= IOSQE_IO_LINK | IOSQE_FIXED_FILE;
      sqe = io_uring_get_sqe(&ring);
      io_uring_prep_close_direct(sqe, static_cast<unsigned>(k));
      sqe->flags |= IOSQE_IO_LINK;
      sqe = io_uring_get_sqe(&ring);
      io_uring_prep_rename(sqe, temps[k].c_str(), names[k].c_str());
    }
    Check(io_uring_submit_and_wait(&ring, static_cast<unsigned>(n) * 4) >= 0, "io_uring_submit_and_wait");
    for (int c = 0; c < n * 4; ++c) {
      io_uring_cqe* cqe = nullptr;
      Check(io_uring_wait_cqe(&ring, &cqe) == 0, "io_uring_wait_cqe");
      if (cqe->res < 0) {
        errno = -cqe->res;
        Check(false, "io_uring open, write, close or rename");
      }
      io_uring_cqe_seen(&ring, cqe);
    }
  }
  io_uring_queue_exit(&ring);
}
#endif

// Small files, as `small` lands them: each written under a temp name and renamed, or
// made nameless with O_TMPFILE and linked in by name once written, or the rename way
// batched through io_uring; one syncfs at the end. (linkat cannot replace a file that
// exists: an update would still need a rename.)
// Each run writes a tree of its own and none is deleted until the end: on ext4 without a
// journal, files created just after others were deleted cost several times the CPU
// (perf/datasets.py), which would charge one way for the way before it.
double SmallFiles(const Settings& s, const std::vector<char>& source, SmallWay way, int run) {
  const std::string root = s.dir + "/write_speed.small/run" + std::to_string(run);
  std::vector<std::string> dirs;
  for (int d = 0; d < 100; ++d) {
    dirs.push_back(root + "/d" + std::to_string(d));
    std::string cmd = "mkdir -p " + dirs.back();
    Check(std::system(cmd.c_str()) == 0, "mkdir");
  }
  ::sync();
  const double cpu = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  int any = -1;
#ifdef RIPTIDE_HAVE_LIBURING
  if (way == SmallWay::kUring) {
    UringFiles(s, dirs, source);
    any = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    Check(any >= 0, "open");
  }
#endif
  for (int i = 0; i < s.small && way != SmallWay::kUring; ++i) {
    const std::string& dir = dirs[static_cast<size_t>(i) % dirs.size()];
    const std::string name = dir + "/obj-" + std::to_string(i) + ".bin";
    const char* data = source.data() + (static_cast<size_t>(i) * 4096) % (source.size() - s.small_bytes);
    int fd;
    if (way == SmallWay::kTmpfile) {
      fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
      Check(fd >= 0, "open O_TMPFILE");
      Check(::pwrite(fd, data, s.small_bytes, 0) == static_cast<ssize_t>(s.small_bytes), "pwrite");
      const std::string proc = "/proc/self/fd/" + std::to_string(fd);
      Check(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0, "linkat");
    } else {
      const std::string temp = dir + "/.obj-" + std::to_string(i) + ".bin.riptide-tmp";
      fd = ::open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      Check(fd >= 0, "open");
      Check(::pwrite(fd, data, s.small_bytes, 0) == static_cast<ssize_t>(s.small_bytes), "pwrite");
      Check(::rename(temp.c_str(), name.c_str()) == 0, "rename");
    }
    if (any >= 0) ::close(any);
    any = fd;
  }
  Check(::syncfs(any) == 0, "syncfs");
  ::close(any);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-30s %8.2f %8.2f %8.0f files/s\n", Name(way), wall, CpuSeconds() - cpu, s.small / wall);
  std::fflush(stdout);
  return wall;
}

Settings Parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::strtoull(argv[++i], nullptr, 10) : 0ull; };
    if (a == "--files") s.files = static_cast<int>(next());
    else if (a == "--mib") s.file_bytes = next() << 20;
    else if (a == "--part-mib") s.part_bytes = next() << 20;
    else if (a == "--rounds") s.rounds = static_cast<int>(next());
    else if (a == "--threads") s.threads = static_cast<int>(next());
    else if (a == "--small") s.small = static_cast<int>(next());
    else s.dir = a;
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = Parse(argc, argv);
  std::vector<char> source(size_t{64} << 20);
  std::mt19937_64 rng(1);
  for (size_t i = 0; i + 8 <= source.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(source.data() + i, &v, 8);
  }
  if (s.small > 0) {
    std::printf("%d files x 64 KiB in 100 folders, into %s\n", s.small, s.dir.c_str());
#ifndef RIPTIDE_HAVE_LIBURING
    std::printf("(io_uring not built: liburing-dev was not installed)\n");
#endif
    int run = 0;
    for (int r = 0; r < s.rounds; ++r) {
      SmallFiles(s, source, SmallWay::kRename, run++);
      SmallFiles(s, source, SmallWay::kTmpfile, run++);
#ifdef RIPTIDE_HAVE_LIBURING
      SmallFiles(s, source, SmallWay::kUring, run++);
#endif
    }
    const std::string cmd = "rm -rf " + s.dir + "/write_speed.small";
    Check(std::system(cmd.c_str()) == 0, "rm");
    return 0;
  }
  const double mb = static_cast<double>(s.file_bytes) * s.files / 1e6;
  std::printf("%d files x %zu MiB in %zu MiB parts, into %s (durable at the end of each run)\n", s.files,
              s.file_bytes >> 20, s.part_bytes >> 20, s.dir.c_str());
  std::printf("%-30s %8s %8s %8s\n", "way", "wall s", "CPU s", "MB/s");
  const std::string direct = "O_DIRECT + fdatasync, " + std::to_string(s.threads) + " thr";
  for (int r = 0; r < s.rounds; ++r) {
    for (int way = 0; way < 2; ++way) {
      for (int i = 0; i < s.files; ++i) ::unlink(PathOf(s, i).c_str());
      ::sync();
      const double cpu = CpuSeconds();
      const auto start = std::chrono::steady_clock::now();
      (way == 0 ? Buffered : Direct)(s, source);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%-30s %8.2f %8.2f %8.0f\n", way == 0 ? "buffered pwrite + syncfs" : direct.c_str(), wall,
                  CpuSeconds() - cpu, mb / wall);
      std::fflush(stdout);
    }
  }
  for (int i = 0; i < s.files; ++i) ::unlink(PathOf(s, i).c_str());
  return 0;
}
