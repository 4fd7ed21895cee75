// S3 XML responses, parsed with expat (the only place that includes it).
#pragma once

#include <string>
#include <string_view>

#include "transport/result.h"
#include "transport/s3/object_info.h"

namespace riptide::s3 {

/// A ListObjectsV2 result; keys are decoded when the server says EncodingType=url.
Result<ListPage> ParseListObjectsV2(std::string_view xml);

/// A ListMultipartUploads result; keys are decoded when the server says EncodingType=url.
Result<UploadsPage> ParseListMultipartUploads(std::string_view xml);

/// The fields of an S3 <Error> body; all empty when the body is not one.
struct ErrorBody {
  std::string code;
  std::string message;
  std::string request_id;
};
ErrorBody ParseErrorBody(std::string_view xml);

}  // namespace riptide::s3
