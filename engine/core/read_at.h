// Reading a file's bytes at an offset, whole: pread may stop early (a signal, a large
// request) without the file ending.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace riptide::engine {

/// Reads `size` bytes at `offset` into `data`, retrying interrupted and partial reads.
/// Returns the bytes read (fewer only where the file ends), or -1 with errno set.
inline ssize_t ReadAt(int fd, char* data, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace riptide::engine
