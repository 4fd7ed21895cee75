// HEADs of named keys, all of a chunk in flight at once: how key lists (the CLI's --key,
// the service's event runs) learn sizes and ETags without listing.
#pragma once

#include <string>
#include <vector>

#include "engine/core/async_call.h"
#include "engine/core/stats.h"
#include "transport/s3/object_info.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// One answer per key, in order. Each HEAD is retried by `scope` on the transport's
/// timer; all are waited for, so none outlives the call. A 4xx HEAD has no body to tell
/// NoSuchKey from NoSuchBucket or a bad signature: a one-byte GET then does.
std::vector<Result<s3::ObjectInfo>> HeadKeys(http::Transport& transport, const s3::RequestFactory& requests,
                                             const std::string& bucket, const std::vector<std::string>& keys,
                                             const RetryScope& scope);

/// One chunk of a key list (--key, --keys-file, an event run), HEADed and judged: the
/// objects found, in order. A key that is not there, or fails on its own, is a failure of
/// that key in `stats` (marked gone when missing; `missing_hint` ends its reason); an
/// error no key could escape (credentials, the bucket) is returned instead.
Result<std::vector<s3::ObjectInfo>> HeadKeyChunk(http::Transport& transport, const s3::RequestFactory& requests,
                                                 const std::string& bucket, const std::vector<std::string>& keys,
                                                 const RetryScope& scope, Stats* stats,
                                                 const std::string& missing_hint = {});

}  // namespace riptide::engine
