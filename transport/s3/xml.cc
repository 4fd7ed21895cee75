#include "transport/s3/xml.h"

#include <expat.h>

#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "transport/s3/uri.h"
#include "transport/strings.h"

namespace riptide::s3 {
namespace {

// Collects the text of each element, across split character-data callbacks, and hands
// (path, text) to a visitor when the element ends. Paths are "/"-joined local names.
class XmlWalker {
 public:
  using EndFn = std::function<void(const std::string& path, std::string& text)>;
  using StartFn = std::function<void(const std::string& path)>;

  XmlWalker(StartFn on_start, EndFn on_end) : on_start_(std::move(on_start)), on_end_(std::move(on_end)) {}

  Status Parse(std::string_view xml) {
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"),
                                                                        &XML_ParserFree);
    XML_SetUserData(parser.get(), this);
    XML_SetElementHandler(parser.get(), &Start, &End);
    XML_SetCharacterDataHandler(parser.get(), &Chars);
    // S3 never sends a DTD: refuse one outright rather than expand its entities.
    XML_SetStartDoctypeDeclHandler(parser.get(), &Doctype);
    parser_ = parser.get();
    if (xml.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return MakeError(ErrorCode::kProtocol, "XML response too large");
    }
    const bool parsed = XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) == XML_STATUS_OK;
    parser_ = nullptr;
    if (saw_doctype_) return MakeError(ErrorCode::kProtocol, "XML with a DOCTYPE from the server: refused");
    if (too_deep_) {
      return MakeError(ErrorCode::kProtocol,
                       "XML nested deeper than " + std::to_string(kMaxDepth) + " levels from the server: refused");
    }
    if (!parsed) {
      return MakeError(ErrorCode::kProtocol,
                       std::string("malformed XML from the server: ") +
                           XML_ErrorString(XML_GetErrorCode(parser.get())) + " at line " +
                           std::to_string(XML_GetCurrentLineNumber(parser.get())));
    }
    return OkStatus();
  }

 private:
  static void Doctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    auto* self = static_cast<XmlWalker*>(user);
    self->saw_doctype_ = true;
    XML_StopParser(self->parser_, XML_FALSE);
  }
  static void Start(void* user, const XML_Char* name, const XML_Char**) {
    auto* self = static_cast<XmlWalker*>(user);
    // S3's answers are a few levels deep; a server nesting millions would have expat
    // keep a frame for each (gigabytes for a 60 MB body).
    if (self->lengths_.size() >= kMaxDepth) {
      self->too_deep_ = true;
      XML_StopParser(self->parser_, XML_FALSE);
      return;
    }
    std::string_view local(name);
    // Drop a namespace prefix, if any.
    if (auto colon = local.rfind(':'); colon != std::string_view::npos) local.remove_prefix(colon + 1);
    self->lengths_.push_back(self->path_.size());
    self->path_ += "/";
    self->path_ += local;
    self->text_.clear();
    if (self->on_start_) self->on_start_(self->path_);
  }
  static void End(void* user, const XML_Char*) {
    auto* self = static_cast<XmlWalker*>(user);
    self->on_end_(self->path_, self->text_);
    self->text_.clear();
    self->path_.resize(self->lengths_.back());
    self->lengths_.pop_back();
  }
  static void Chars(void* user, const XML_Char* s, int len) {
    static_cast<XmlWalker*>(user)->text_.append(s, len);
  }

  static constexpr size_t kMaxDepth = 32;

  StartFn on_start_;
  EndFn on_end_;
  XML_Parser parser_ = nullptr;
  bool saw_doctype_ = false;
  bool too_deep_ = false;
  std::string path_;
  std::vector<size_t> lengths_;
  std::string text_;
};

// Keys arrive percent-encoded when the server honoured encoding-type=url.
Status UrlDecodeInPlace(std::string* s) {
  auto decoded = UriDecode(*s, /*plus_is_space=*/true);
  if (!decoded.ok()) return decoded.error();
  *s = std::move(*decoded);
  return OkStatus();
}

}  // namespace

namespace {

// A listed object's Size: a number no larger than any object S3 stores.
std::optional<Error> ReadSize(const std::string& text, uint64_t* size) {
  char* end = nullptr;
  *size = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') {
    return MakeError(ErrorCode::kProtocol, "listing gives a non-numeric Size '" + text + "'");
  }
  if (*size > kMaxObjectBytes) {  // strtoull saturates: 10 EiB lands here too
    return MakeError(ErrorCode::kProtocol,
                     "listing claims an object of " + text + " bytes, beyond the largest object S3 stores");
  }
  return std::nullopt;
}

// Keys decoded when the server honoured encoding-type=url; a truncated page must say
// where to go on.
Status FinishPage(ListPage& page, bool url_encoded) {
  if (url_encoded) {
    for (auto& o : page.objects) {
      if (Status st = UrlDecodeInPlace(&o.key); !st.ok()) return st;
    }
    for (auto& p : page.common_prefixes) {
      if (Status st = UrlDecodeInPlace(&p); !st.ok()) return st;
    }
  }
  if (page.is_truncated && page.next_continuation_token.empty()) {
    return MakeError(ErrorCode::kProtocol, "a truncated listing page carries no continuation token");
  }
  return OkStatus();
}

}  // namespace

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  ListPage page;
  ObjectInfo current;
  bool url_encoded = false;
  bool saw_root = false;
  std::optional<Error> bad;  // the first problem; later ones are dropped
  XmlWalker walker(
      [&](const std::string& path) {
        if (path == "/ListBucketResult") saw_root = true;
        if (path == "/ListBucketResult/Contents") current = ObjectInfo{};
      },
      [&](const std::string& path, std::string& text) {
        if (path == "/ListBucketResult/Contents/Key") {
          current.key = std::move(text);
        } else if (path == "/ListBucketResult/Contents/Size") {
          if (auto e = ReadSize(text, &current.size); e && !bad) bad = std::move(e);
        } else if (path == "/ListBucketResult/Contents/ETag") {
          // ETags arrive quoted (as '"' or &quot;, which expat has already decoded).
          current.etag = StripQuotes(text);
        } else if (path == "/ListBucketResult/Contents/LastModified") {
          current.last_modified_ms = ParseIso8601Ms(text);
        } else if (path == "/ListBucketResult/Contents/StorageClass") {
          current.storage_class = std::move(text);
        } else if (path == "/ListBucketResult/Contents/ChecksumAlgorithm") {
          current.checksum_algorithm = std::move(text);
        } else if (path == "/ListBucketResult/Contents" || path == "/ListBucketResult/CommonPrefixes/Prefix") {
          // S3 never puts more than max-keys (at most 1,000) entries in a page: a server that
          // does is not held in memory beyond that.
          if (page.objects.size() + page.common_prefixes.size() >= kMaxListEntries) {
            if (!bad) {
              bad = MakeError(ErrorCode::kProtocol, "a listing page holds more than " +
                                                        std::to_string(kMaxListEntries) + " entries, S3's most");
            }
          } else if (path == "/ListBucketResult/Contents") {
            page.objects.push_back(std::move(current));
          } else {
            page.common_prefixes.push_back(std::move(text));
          }
        } else if (path == "/ListBucketResult/IsTruncated") {
          page.is_truncated = text == "true";
        } else if (path == "/ListBucketResult/NextContinuationToken") {
          page.next_continuation_token = std::move(text);
        } else if (path == "/ListBucketResult/EncodingType") {
          url_encoded = text == "url";
        }
      });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (!saw_root) return MakeError(ErrorCode::kProtocol, "the listing response is not a ListBucketResult");
  if (bad) return *bad;
  if (Status st = FinishPage(page, url_encoded); !st.ok()) return st.error();
  return page;
}

Result<UploadsPage> ParseListMultipartUploads(std::string_view xml) {
  UploadsPage page;
  UploadInfo current;
  bool url_encoded = false;
  bool saw_root = false;
  constexpr std::string_view kRoot = "/ListMultipartUploadsResult";
  XmlWalker walker(
      [&](const std::string& path) {
        if (path == kRoot) saw_root = true;
        if (path == "/ListMultipartUploadsResult/Upload") current = UploadInfo{};
      },
      [&](const std::string& path, std::string& text) {
        if (path == "/ListMultipartUploadsResult/Upload/Key") {
          current.key = std::move(text);
        } else if (path == "/ListMultipartUploadsResult/Upload/UploadId") {
          current.upload_id = std::move(text);
        } else if (path == "/ListMultipartUploadsResult/Upload/Initiated") {
          current.initiated_ms = ParseIso8601Ms(text);
        } else if (path == "/ListMultipartUploadsResult/Upload") {
          page.uploads.push_back(std::move(current));
        } else if (path == "/ListMultipartUploadsResult/IsTruncated") {
          page.is_truncated = text == "true";
        } else if (path == "/ListMultipartUploadsResult/NextKeyMarker") {
          page.next_key_marker = std::move(text);
        } else if (path == "/ListMultipartUploadsResult/NextUploadIdMarker") {
          page.next_upload_id_marker = std::move(text);
        } else if (path == "/ListMultipartUploadsResult/EncodingType") {
          url_encoded = text == "url";
        }
      });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (!saw_root) return MakeError(ErrorCode::kProtocol, "the response is not a ListMultipartUploadsResult");
  if (url_encoded) {
    if (Status st = UrlDecodeInPlace(&page.next_key_marker); !st.ok()) return st.error();
    for (auto& u : page.uploads) {
      if (Status st = UrlDecodeInPlace(&u.key); !st.ok()) return st.error();
    }
  }
  if (page.is_truncated && page.next_key_marker.empty() && page.next_upload_id_marker.empty()) {
    return MakeError(ErrorCode::kProtocol, "a truncated uploads page carries no marker to go on from");
  }
  return page;
}

ErrorBody ParseErrorBody(std::string_view xml) {
  ErrorBody out;
  XmlWalker walker(nullptr, [&](const std::string& path, std::string& text) {
    if (path == "/Error/Code") out.code = std::move(text);
    else if (path == "/Error/Message") out.message = std::move(text);
    else if (path == "/Error/RequestId") out.request_id = std::move(text);
  });
  if (!walker.Parse(xml).ok()) return ErrorBody{};
  return out;
}

Result<ExpiringCredentials> ParseAssumeRoleWithWebIdentity(std::string_view xml) {
  ExpiringCredentials c;
  std::string expiration;
  constexpr std::string_view kCreds = "/AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/";
  XmlWalker walker(nullptr, [&](const std::string& path, std::string& text) {
    if (path.size() <= kCreds.size() || path.compare(0, kCreds.size(), kCreds) != 0) return;
    const std::string_view field = std::string_view(path).substr(kCreds.size());
    if (field == "AccessKeyId") c.keys.access_key_id = std::move(text);
    if (field == "SecretAccessKey") c.keys.secret_access_key = std::move(text);
    if (field == "SessionToken") c.keys.session_token = std::move(text);
    if (field == "Expiration") expiration = std::move(text);
  });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (c.keys.access_key_id.empty() || c.keys.secret_access_key.empty()) {
    return MakeError(ErrorCode::kCredentials, "STS answered without credentials");
  }
  c.expires_ms = expiration.empty() ? 0 : ParseIso8601Ms(expiration);
  return c;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view xml) {
  std::string upload_id;
  XmlWalker walker(nullptr, [&](const std::string& path, std::string& text) {
    if (path == "/InitiateMultipartUploadResult/UploadId") upload_id = std::move(text);
  });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (upload_id.empty()) return MakeError(ErrorCode::kProtocol, "CreateMultipartUpload gave no UploadId");
  return upload_id;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseListBuckets(std::string_view xml) {
  std::vector<std::pair<std::string, std::string>> buckets;
  bool root_seen = false;
  XmlWalker walker(
      [&](const std::string& path) {
        if (path == "/ListAllMyBucketsResult") root_seen = true;
        if (path == "/ListAllMyBucketsResult/Buckets/Bucket") buckets.emplace_back();
      },
      [&](const std::string& path, std::string& text) {
        if (buckets.empty()) return;
        if (path == "/ListAllMyBucketsResult/Buckets/Bucket/Name") buckets.back().first = std::move(text);
        if (path == "/ListAllMyBucketsResult/Buckets/Bucket/CreationDate") buckets.back().second = std::move(text);
      });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (!root_seen) return MakeError(ErrorCode::kProtocol, "the answer to ListBuckets is not a ListAllMyBucketsResult");
  return buckets;
}

Result<std::string> ParseResultEtag(std::string_view xml) {
  std::string etag;
  std::string root;
  XmlWalker walker(
      [&](const std::string& path) {
        if (root.empty()) root = path;
      },
      [&](const std::string& path, std::string& text) {
        if (path == root + "/ETag") etag = StripQuotes(text);
      });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (root == "/Error") {
    ErrorBody body = ParseErrorBody(xml);
    Error e = MakeError(ErrorCode::kServer, body.code + ": " + body.message);
    e.s3_code = body.code;
    e.request_id = body.request_id;
    // A 200 carrying InternalError or SlowDown: S3's advice is to try again.
    e.retryable = body.code == "InternalError" || body.code == "SlowDown" || body.code == "ServiceUnavailable";
    return e;
  }
  if (etag.empty()) return MakeError(ErrorCode::kProtocol, "the server's " + root.substr(1) + " gives no ETag", true);
  return etag;
}

Result<std::vector<DeleteFailure>> ParseDeleteResult(std::string_view xml) {
  std::vector<DeleteFailure> failures;
  DeleteFailure current;
  bool saw_root = false;
  bool url_encoded = false;
  XmlWalker walker(
      [&](const std::string& path) {
        if (path == "/DeleteResult") saw_root = true;
        if (path == "/DeleteResult/Error") current = DeleteFailure{};
      },
      [&](const std::string& path, std::string& text) {
        if (path == "/DeleteResult/Error/Key") current.key = std::move(text);
        else if (path == "/DeleteResult/Error/Code") current.code = std::move(text);
        else if (path == "/DeleteResult/Error/Message") current.message = std::move(text);
        else if (path == "/DeleteResult/Error") failures.push_back(std::move(current));
        else if (path == "/DeleteResult/EncodingType") url_encoded = text == "url";
      });
  if (Status st = walker.Parse(xml); !st.ok()) return st.error();
  if (!saw_root) return MakeError(ErrorCode::kProtocol, "the response is not a DeleteResult", true);
  if (url_encoded) {
    for (auto& f : failures) {
      if (Status st = UrlDecodeInPlace(&f.key); !st.ok()) return st.error();
    }
  }
  return failures;
}

}  // namespace riptide::s3
