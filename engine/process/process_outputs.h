// Where a command's output goes: a bucket key (one PUT, or a multipart upload of parts
// sent as they fill) or a file (a temporary beside it, renamed into place). Nothing is
// under the final name until Finish.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/async_call.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

class ObjectOutput {
 public:
  virtual ~ObjectOutput() = default;
  virtual Status Write(std::string_view data) = 0;
  /// Puts the whole output under its final name; its size.
  virtual Result<uint64_t> Finish() = 0;
  /// Leaves nothing behind.
  virtual void Abort() = 0;
};

class BucketOutput final : public ObjectOutput {
 public:
  BucketOutput(http::Transport& transport, const s3::RequestFactory& requests, std::string bucket, std::string key,
               uint64_t part_size, RetryScope scope)
      : transport_(transport), requests_(requests), bucket_(std::move(bucket)), key_(std::move(key)),
        part_size_(part_size), scope_(scope) {}
  Status Write(std::string_view data) override;
  Result<uint64_t> Finish() override;
  void Abort() override;

 private:
  Status SendPart(std::string body);
  // Runs `call` with the CRC64NVME headers `with`, and once more without any when the
  // destination refuses them (s3::IsChecksumRefused): this output then carries none.
  Result<http::Response> WithChecksumOrWithout(const s3::RequestFactory::Headers& with,
                                               const std::function<http::Request(const s3::RequestFactory::Headers&)>& call);
  http::Transport& transport_;
  const s3::RequestFactory& requests_;
  std::string bucket_, key_;
  uint64_t part_size_;
  RetryScope scope_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  s3::UploadCrc crc_;        // each part's CRC64NVME, and (at Finish) the whole output's
  uint64_t running_crc_ = 0;  // CRC64NVME of every byte written so far
  bool with_crc_ = true;      // false once the destination refused the checksum headers
  uint64_t size_ = 0;
};

class FileOutput final : public ObjectOutput {
 public:
  /// `rel`: the file's path below `dir` ('/'-separated, already refused if hostile).
  FileOutput(std::string dir, std::string rel) : dir_(std::move(dir)), rel_(std::move(rel)) {}
  ~FileOutput() override;
  Status Write(std::string_view data) override;
  Result<uint64_t> Finish() override;
  void Abort() override;

 private:
  Status Open();
  std::string dir_, rel_, tmp_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace riptide::engine
