// libFuzzer target: the S3 XML parsers (listing pages, multipart upload lists, error
// bodies, copy/complete/delete results) on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transport/s3/object_info.h"
#include "transport/s3/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto page = riptide::s3::ParseListObjectsV2(xml);
  if (page.ok()) {
    // A page that parsed is self-consistent: a truncated one always says where to go on.
    if (page->is_truncated && page->next_continuation_token.empty()) __builtin_trap();
    // Nor does it hold more than S3's 1,000 entries, or a size beyond S3's largest object.
    if (page->objects.size() + page->common_prefixes.size() > riptide::s3::kMaxListEntries) __builtin_trap();
    for (const auto& o : page->objects) {
      if (o.size > riptide::s3::kMaxObjectBytes) __builtin_trap();
    }
  }
  auto uploads = riptide::s3::ParseListMultipartUploads(xml);
  if (uploads.ok() && uploads->is_truncated && uploads->next_key_marker.empty() &&
      uploads->next_upload_id_marker.empty()) {
    __builtin_trap();
  }
  (void)riptide::s3::ParseErrorBody(xml);
  auto etag = riptide::s3::ParseResultEtag(xml);
  if (etag.ok() && etag->empty()) __builtin_trap();  // success always names an ETag
  auto id = riptide::s3::ParseInitiateMultipartUpload(xml);
  if (id.ok() && id->empty()) __builtin_trap();
  (void)riptide::s3::ParseDeleteResult(xml);
  return 0;
}
