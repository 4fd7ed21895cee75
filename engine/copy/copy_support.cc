#include "engine/copy/copy_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/hashing.h"
#include "engine/core/read_at.h"
#include "planner/copy_plan.h"
#include "transport/s3/crypto.h"
#include "transport/s3/object_info.h"
#include "transport/s3/xml.h"
#include "transport/strings.h"

namespace riptide::engine {

std::string ContentTypeFor(const std::string& path) {
  static constexpr std::pair<const char*, const char*> kTypes[] = {
      {".txt", "text/plain"},        {".csv", "text/csv"},          {".html", "text/html"},
      {".htm", "text/html"},         {".css", "text/css"},          {".js", "text/javascript"},
      {".json", "application/json"}, {".xml", "application/xml"},   {".pdf", "application/pdf"},
      {".png", "image/png"},         {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},         {".svg", "image/svg+xml"},     {".webp", "image/webp"},
      {".gz", "application/gzip"},   {".zip", "application/zip"},   {".tar", "application/x-tar"},
      {".mp4", "video/mp4"},         {".mp3", "audio/mpeg"},        {".wav", "audio/wav"},
      {".md", "text/markdown"},      {".yaml", "application/yaml"}, {".yml", "application/yaml"}};
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    const std::string ext = AsciiLower(path.substr(dot));
    for (const auto& [e, type] : kTypes) {
      if (ext == e) return type;
    }
  }
  return "application/octet-stream";
}

Result<std::string> ReadLocalRange(const StreamEntry& source, uint64_t offset, uint64_t length) {
  auto io_error = [&](const char* what) {
    Error e = MakeError(ErrorCode::kIo, std::string(what) + " " + source.path + ": " + std::strerror(errno));
    e.os_errno = errno;
    return e;
  };
  auto opened = OpenListedFile(source);
  if (!opened.ok()) return opened.error();
  const int fd = *opened;
  auto changed = [&]() {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return true;
    const int64_t mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    return static_cast<uint64_t>(st.st_size) != source.info.size || mtime_ms != source.info.last_modified_ms;
  };
  std::string body;
  Error failure;
  bool ok = !changed();
  if (ok) {
    body.resize(length);
    const ssize_t n = ReadAt(fd, body.data(), length, offset);
    if (n < 0 || static_cast<uint64_t>(n) < length) {
      failure = n < 0 ? io_error("cannot read") : MakeError(ErrorCode::kIo, source.path + " got shorter");
      ok = false;
    }
    if (ok && changed()) ok = false;
  }
  ::close(fd);
  if (!ok) {
    if (failure.message.empty()) {
      failure = MakeError(ErrorCode::kIo, source.path + " changed while riptide read it: the next run uploads it");
    }
    return failure;
  }
  return body;
}

bool LocalFileMatches(const StreamEntry& file, const s3::ObjectInfo& object, uint64_t part_size) {
  if (file.info.size != object.size) return false;
  const int parts = s3::MultipartEtagParts(object.etag);
  std::vector<uint64_t> lengths;
  if (parts > 0) {
    lengths = planner::GuessUploadParts(object.size, parts, part_size);
    if (lengths.empty()) return false;  // no layout known to make that many parts: upload again
  } else if (!s3::IsPlainMd5Etag(object.etag)) {
    return false;
  }
  auto opened = OpenListedFile(file);
  if (!opened.ok()) return false;
  const int fd = *opened;
  auto digest = DigestFile(fd, true, lengths);
  ::close(fd);
  if (!digest.ok()) return false;
  return parts > 0 ? digest->parts_etag == object.etag : digest->md5 == object.etag;
}

Status EtagInBody(const http::Response& r) {
  auto etag = s3::ParseResultEtag(r.body);
  return etag.ok() ? OkStatus() : Status(etag.error());
}

}  // namespace riptide::engine
