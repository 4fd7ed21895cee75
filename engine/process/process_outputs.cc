#include "engine/process/process_outputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "engine/core/checksums.h"
#include "transport/s3/crypto.h"
#include "transport/s3/xml.h"

namespace riptide::engine {
namespace {

Error IoError(const std::string& what) { return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno)); }

}  // namespace

Result<http::Response> BucketOutput::WithChecksumOrWithout(
    const s3::RequestFactory::Headers& with,
    const std::function<http::Request(const s3::RequestFactory::Headers&)>& call) {
  auto r = CallAndWait(transport_, scope_, [&] { return call(with); }, nullptr);
  if (r.ok() || !s3::IsChecksumRefused(r.error())) return r;
  spdlog::warn("{}: the destination refuses CRC64NVME checksums ({}): the output goes without, proved by Content-MD5",
               key_, r.error().ToString());
  with_crc_ = false;
  return CallAndWait(transport_, scope_, [&] { return call({}); }, nullptr);
}

Status BucketOutput::SendPart(std::string body) {
  if (upload_id_.empty()) {
    // The output's CRC64NVME goes with it, as with every upload riptide makes.
    auto r = WithChecksumOrWithout({{"x-amz-checksum-algorithm", "CRC64NVME"}, {"x-amz-checksum-type", "FULL_OBJECT"}},
                                   [&](const s3::RequestFactory::Headers& headers) {
                                     return requests_.CreateMultipartUpload(bucket_, key_, headers);
                                   });
    if (!r.ok()) return r.error();
    auto id = s3::ParseInitiateMultipartUpload(r->body);
    if (!id.ok()) return id.error();
    upload_id_ = *id;
  }
  const int number = static_cast<int>(etags_.size()) + 1;
  auto shared = std::make_shared<const std::string>(std::move(body));
  const std::string md5 = s3::Base64Md5(*shared);
  crc_.parts.push_back(Crc64NvmeBase64(Crc64Nvme(0, shared->data(), shared->size())));
  const std::string crc = with_crc_ ? crc_.parts.back() : "";
  auto r = CallAndWait(
      transport_, scope_, [&] { return requests_.UploadPart(bucket_, key_, upload_id_, number, shared, md5, crc); },
      nullptr);
  if (!r.ok()) return r.error();
  auto etag = r->headers.find("etag");
  if (etag == r->headers.end()) return MakeError(ErrorCode::kProtocol, "a part's answer has no ETag");
  etags_.push_back(etag->second);
  return OkStatus();
}

Status BucketOutput::Write(std::string_view data) {
  buffer_.append(data);
  size_ += data.size();
  running_crc_ = Crc64Nvme(running_crc_, data.data(), data.size());
  while (buffer_.size() >= part_size_) {
    std::string part = buffer_.substr(0, part_size_);
    buffer_.erase(0, part_size_);
    if (Status st = SendPart(std::move(part)); !st.ok()) return st;
  }
  return OkStatus();
}

Result<uint64_t> BucketOutput::Finish() {
  if (upload_id_.empty()) {  // it all fitted in one part: one PUT
    auto shared = std::make_shared<const std::string>(std::move(buffer_));
    const std::string md5 = s3::Base64Md5(*shared);
    auto r = WithChecksumOrWithout(
        {{"x-amz-sdk-checksum-algorithm", "CRC64NVME"}, {"x-amz-checksum-crc64nvme", Crc64NvmeBase64(running_crc_)}},
        [&](const s3::RequestFactory::Headers& headers) {
          return requests_.PutObject(bucket_, key_, shared, md5, headers);
        });
    if (!r.ok()) return r.error();
    return size_;
  }
  if (!buffer_.empty()) {
    if (Status st = SendPart(std::move(buffer_)); !st.ok()) return st.error();
  }
  crc_.whole = Crc64NvmeBase64(running_crc_);
  auto r = CallAndWait(
      transport_, scope_,
      [&] { return requests_.CompleteMultipartUpload(bucket_, key_, upload_id_, etags_, with_crc_ ? &crc_ : nullptr); },
      [](const http::Response& answer) -> Status {  // a 200 may still carry an error
        auto etag = s3::ParseResultEtag(answer.body);
        return etag.ok() ? OkStatus() : Status(etag.error());
      });
  if (!r.ok()) return r.error();
  upload_id_.clear();
  return size_;
}

void BucketOutput::Abort() {
  if (upload_id_.empty()) return;
  (void)CallAndWait(transport_, scope_, [&] { return requests_.AbortMultipartUpload(bucket_, key_, upload_id_); }, nullptr);
  upload_id_.clear();
}

FileOutput::~FileOutput() { Abort(); }

Status FileOutput::Open() {
  const std::filesystem::path final_path = std::filesystem::path(dir_) / rel_;
  std::error_code ec;
  std::filesystem::create_directories(final_path.parent_path(), ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot create " + final_path.parent_path().string() + ": " + ec.message());
  tmp_ = (final_path.parent_path() / ".riptide-process-XXXXXX").string();
  fd_ = ::mkostemp(tmp_.data(), O_CLOEXEC);
  if (fd_ < 0) {
    tmp_.clear();
    return IoError("cannot create a file in " + final_path.parent_path().string());
  }
  return OkStatus();
}

Status FileOutput::Write(std::string_view data) {
  if (fd_ < 0 && tmp_.empty()) {
    if (Status st = Open(); !st.ok()) return st;
  }
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot write " + tmp_);
    done += static_cast<size_t>(n);
  }
  size_ += data.size();
  return OkStatus();
}

Result<uint64_t> FileOutput::Finish() {
  if (fd_ < 0 && tmp_.empty()) {
    if (Status st = Open(); !st.ok()) return st.error();  // an empty output is an empty file
  }
  if (::fsync(fd_) != 0) return IoError("cannot flush " + tmp_);
  ::close(fd_);
  fd_ = -1;
  const std::string final_path = dir_ + "/" + rel_;
  if (::rename(tmp_.c_str(), final_path.c_str()) != 0) return IoError("cannot rename into " + final_path);
  tmp_.clear();
  return size_;
}

void FileOutput::Abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

}  // namespace riptide::engine
