// Object notifications as the stores deliver them, read into one shape: the S3
// `Records[]` format (AWS S3, MinIO, Ceph RGW; keys URL-encoded), IBM Cloud Object
// Storage notifications as Code Engine delivers them, CloudEvents in binary mode (ce-*
// headers) or structured mode (application/cloudevents+json), an SNS envelope around
// any of these, and a plain {"bucket", "key"}.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::serve {

struct Notice {
  std::string bucket;
  std::string key;            // decoded
  bool removed = false;       // ObjectRemoved / Object:Delete; otherwise created or overwritten
  std::string etag;           // without quotes, when the notification says
  std::string sequencer;      // S3's ordering token, when it says
  std::string id;             // the delivery's own id (CloudEvent id, request id), when it says
  int64_t size = -1;          // -1: not said
  std::string format;         // s3, cos, cloudevent, plain
};

/// A request header by name (case-insensitive); "" when absent.
using HeaderFn = std::function<std::string(const std::string&)>;

/// The notices in one delivery. A body that says nothing to act on (an S3 test event)
/// gives none; a body in no known format, or a record without bucket or key, is an
/// error naming what was expected.
Result<std::vector<Notice>> ParseNotifications(const std::string& body, const HeaderFn& header);

/// %XX decoded and '+' read as a space, as S3 notifications encode keys.
Result<std::string> DecodeNotificationKey(const std::string& encoded);

}  // namespace riptide::serve
