// The multipart uploads a copy into a bucket has open, written down as they open and
// close, so that a run killed outright (kill -9, a crash) leaves nothing billed behind:
// the next run into the same place aborts what the journal still lists. The journal's
// lock also keeps a second riptide from copying into the same place at once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "transport/result.h"

namespace riptide::engine {

class UploadJournal {
 public:
  /// Opens (creating) DIR/uploads-<id>.jsonl for `destination` ("endpoint/bucket/prefix")
  /// and locks it; another riptide holding it is an error.
  static Result<std::unique_ptr<UploadJournal>> Open(const std::string& dir, const std::string& destination);
  ~UploadJournal();
  UploadJournal(const UploadJournal&) = delete;
  UploadJournal& operator=(const UploadJournal&) = delete;

  /// Uploads an earlier run opened and never closed: upload id → key.
  const std::map<std::string, std::string>& leftovers() const { return leftovers_; }
  /// Empties the journal (once the leftovers were dealt with).
  void Reset();

  void Opened(const std::string& upload_id, const std::string& key);
  void Closed(const std::string& upload_id);

 private:
  UploadJournal(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void Append(const std::string& line);
  // What an earlier run left open; a line riptide never wrote is an error.
  Status ReadLeftovers();
  int fd_;
  std::string path_;
  std::mutex mu_;
  std::map<std::string, std::string> leftovers_;
};

}  // namespace riptide::engine
