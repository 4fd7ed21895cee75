#include "engine/state/upload_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/state/dataset.h"
#include "engine/state/run_log.h"

namespace riptide::engine {

Result<std::unique_ptr<UploadJournal>> UploadJournal::Open(const std::string& dir, const std::string& destination) {
  if (Status st = MakeDirs(dir, 0700); !st.ok()) return st.error();
  const std::string id = DestinationId(destination);
  const std::string path = dir + "/uploads-" + id + ".jsonl";
  auto io_error = [&](const char* what) {
    Error e = MakeError(ErrorCode::kIo, std::string(what) + " " + path + ": " + std::strerror(errno));
    e.os_errno = errno;
    return e;
  };
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open the upload journal");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "another riptide is copying into " + destination + " (lock " + path + ")");
    }
    errno = err;
    return io_error("cannot lock");
  }
  std::unique_ptr<UploadJournal> journal(new UploadJournal(fd, path));
  if (Status st = journal->ReadLeftovers(); !st.ok()) return st.error();
  return journal;
}

Status UploadJournal::ReadLeftovers() {
  // One JSON object a line; a line cut short by a kill is skipped.
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(text.size()))) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  auto text_of = [](const nlohmann::json& line, const char* field) -> const std::string* {
    auto it = line.find(field);
    return line.is_object() && it != line.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  int number = 0;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    ++number;  // a last line without its newline was cut short by a kill: never read
    auto line = nlohmann::json::parse(text.begin() + static_cast<long>(start), text.begin() + static_cast<long>(end),
                                      nullptr, false);
    if (line.is_discarded()) {
      spdlog::warn("{}:{}: not a journal line (a write cut short?): skipped", path_, number);
      continue;
    }
    const std::string *open = text_of(line, "open"), *key = text_of(line, "key"), *closed = text_of(line, "closed");
    if (open && key) {
      leftovers_[*open] = *key;
    } else if (closed) {
      leftovers_.erase(*closed);
    } else {
      // JSON that riptide never wrote: someone edited the journal; trust none of it.
      return MakeError(ErrorCode::kInvalidArgument,
                       path_ + ":" + std::to_string(number) +
                           ": not a line riptide writes (edited by hand?); move the file away to start over");
    }
  }
  return OkStatus();
}

UploadJournal::~UploadJournal() { ::close(fd_); }

void UploadJournal::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  if (::ftruncate(fd_, 0) != 0) spdlog::warn("cannot empty the upload journal {}: {}", path_, std::strerror(errno));
  leftovers_.clear();
}

void UploadJournal::Append(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  // One write per line, O_APPEND: a kill leaves whole lines or a last one cut short.
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    spdlog::warn("cannot write to the upload journal {}: {}", path_, std::strerror(errno));
  }
}

void UploadJournal::Opened(const std::string& upload_id, const std::string& key) {
  Append(nlohmann::json{{"open", upload_id}, {"key", key}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n");
}

void UploadJournal::Closed(const std::string& upload_id) {
  Append(nlohmann::json{{"closed", upload_id}}.dump() + "\n");
}

}  // namespace riptide::engine
