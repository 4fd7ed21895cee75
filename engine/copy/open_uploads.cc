// The multipart uploads a copy has open, and aborting what a stopped run left open.
#include <spdlog/spdlog.h>

#include "engine/copy/copy_transfer.h"
#include "engine/core/listing.h"

namespace riptide::engine {

void OpenUploads::Add(const std::string& upload_id, const std::string& key) {
  if (journal_) journal_->Opened(upload_id, key);
  std::lock_guard<std::mutex> lock(mu_);
  open_[upload_id] = key;
}

void OpenUploads::Remove(const std::string& upload_id) {
  if (journal_) journal_->Closed(upload_id);
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(upload_id);
}

std::map<std::string, std::string> OpenUploads::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

std::map<std::string, std::string> AbortUploads(http::Transport& transport, const s3::RequestFactory& requests,
                                                const std::string& bucket,
                                                const std::map<std::string, std::string>& uploads,
                                                const RetryPolicy& retry) {
  ListTarget target{transport, requests, bucket, retry};
  std::map<std::string, std::string> failed;
  for (const auto& [id, key] : uploads) {
    s3::UploadInfo upload;
    upload.key = key;
    upload.upload_id = id;
    if (Status st = AbortUpload(target, upload); st.ok()) {
      spdlog::info("aborted the unfinished upload of {}", key);
    } else {
      spdlog::warn("could not abort the upload of {} ({}): {}; `riptide cleanup` removes it later", key, id,
                   st.error().ToString());
      failed[id] = key;
    }
  }
  return failed;
}

}  // namespace riptide::engine
