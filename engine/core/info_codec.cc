#include "engine/core/info_codec.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace riptide::engine::codec {

std::FILE* SpoolFile() {
  const char* dir = std::getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  const int fd = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  std::FILE* f = ::fdopen(fd, "w+b");
  if (!f) ::close(fd);
  return f;
}

void PutU64(std::string* out, uint64_t v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

void PutString(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

void PutInfo(std::string* out, const s3::ObjectInfo& info) {
  PutString(out, info.key);
  PutU64(out, info.size);
  PutString(out, info.etag);
  PutU64(out, static_cast<uint64_t>(info.last_modified_ms));
  PutString(out, info.storage_class);
  PutString(out, info.checksum_algorithm);
}

bool TakeU64(std::string_view* in, uint64_t* v) {
  if (in->size() < sizeof *v) return false;
  std::memcpy(v, in->data(), sizeof *v);
  in->remove_prefix(sizeof *v);
  return true;
}

bool TakeString(std::string_view* in, std::string* s) {
  uint32_t n = 0;
  if (in->size() < sizeof n) return false;
  std::memcpy(&n, in->data(), sizeof n);
  if (in->size() - sizeof n < n) return false;
  s->assign(in->data() + sizeof n, n);
  in->remove_prefix(sizeof n + n);
  return true;
}

bool TakeInfo(std::string_view* in, s3::ObjectInfo* info) {
  uint64_t modified = 0;
  if (!TakeString(in, &info->key) || !TakeU64(in, &info->size) || !TakeString(in, &info->etag) ||
      !TakeU64(in, &modified) || !TakeString(in, &info->storage_class) ||
      !TakeString(in, &info->checksum_algorithm)) {
    return false;
  }
  info->last_modified_ms = static_cast<int64_t>(modified);
  return true;
}

}  // namespace riptide::engine::codec
