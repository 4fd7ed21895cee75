// Moves: the source object of a verified copy is deleted, but only while it is still the
// object that was copied. A newer upload under the same key is never deleted.
#pragma once

#include <string>
#include <vector>

#include "engine/core/async_call.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

struct MovedObject {
  std::string key;   // in the source bucket
  std::string etag;  // of the object that was copied and verified
};

struct MoveOutcome {
  std::string key;
  bool deleted = false;  // also true when it was gone already
  std::string reason;    // why it was kept
};

/// Deletes each source object if it still has the copied ETag: a HEAD compares it (some
/// servers ignore conditional deletes), then the DELETE carries If-Match (the servers
/// that honour it close the window between the two). Up to `concurrency` at once; one
/// outcome per object, in order.
std::vector<MoveOutcome> DeleteMovedSources(http::Transport& transport, const s3::RequestFactory& requests,
                                            const std::string& bucket, const std::vector<MovedObject>& objects,
                                            const RetryScope& scope, int concurrency);

}  // namespace riptide::engine
