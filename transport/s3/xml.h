// S3 XML responses, parsed with expat (the only place that includes it).
#pragma once

#include <string>
#include <string_view>

#include "transport/result.h"
#include "transport/s3/credentials.h"
#include "transport/s3/object_info.h"

namespace riptide::s3 {

/// S3's largest listing page (max-keys ≤ 1,000, objects and common prefixes together).
inline constexpr size_t kMaxListEntries = 1000;

/// A ListObjectsV2 result; keys are decoded when the server says EncodingType=url. Pages
/// of more than kMaxListEntries entries and sizes above kMaxObjectBytes are refused.
Result<ListPage> ParseListObjectsV2(std::string_view xml);

/// A ListMultipartUploads result; keys are decoded when the server says EncodingType=url.
Result<UploadsPage> ParseListMultipartUploads(std::string_view xml);

/// The UploadId of an InitiateMultipartUploadResult.
Result<std::string> ParseInitiateMultipartUpload(std::string_view xml);

/// A ListBuckets answer: (name, creation date as given) in the server's order.
Result<std::vector<std::pair<std::string, std::string>>> ParseListBuckets(std::string_view xml);

/// STS AssumeRoleWithWebIdentity's answer: its credentials and their expiry.
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
Result<ExpiringCredentials> ParseAssumeRoleWithWebIdentity(std::string_view xml);

/// The ETag (without quotes) of a CopyObjectResult, CopyPartResult or
/// CompleteMultipartUploadResult. Those calls may answer 200 with an <Error> body: that
/// comes back as the error it names (retryable when S3 says so).
Result<std::string> ParseResultEtag(std::string_view xml);

/// One key a DeleteObjects call could not delete.
struct DeleteFailure {
  std::string key;
  std::string code;
  std::string message;
};
/// The failures of a (quiet) DeleteResult; empty when every key went.
Result<std::vector<DeleteFailure>> ParseDeleteResult(std::string_view xml);

/// The body of CompleteMultipartUpload: part i+1 with ETag `etags[i]`.
/// With `crc64nvme`, each part also names its CRC64NVME (base64).
std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags,
                                      const std::vector<std::string>* crc64nvme = nullptr);
/// The body of a quiet DeleteObjects call.
std::string DeleteObjectsXml(const std::vector<std::string>& keys);

/// The fields of an S3 <Error> body; all empty when the body is not one.
struct ErrorBody {
  std::string code;
  std::string message;
  std::string request_id;
};
ErrorBody ParseErrorBody(std::string_view xml);

}  // namespace riptide::s3
