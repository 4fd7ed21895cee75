// HEADs of named keys, all of a chunk in flight at once: how key lists (the CLI's --key,
// the service's event runs) learn sizes and ETags without listing.
#pragma once

#include <string>
#include <vector>

#include "engine/core/async_call.h"
#include "transport/s3/object_info.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// One answer per key, in order. Each HEAD is retried by `scope` on the transport's
/// timer; all are waited for, so none outlives the call. A 4xx HEAD has no body to tell
/// NoSuchKey from NoSuchBucket or a bad signature: a one-byte GET then does.
std::vector<Result<s3::ObjectInfo>> HeadKeys(http::Transport& transport, const s3::RequestFactory& requests,
                                             const std::string& bucket, const std::vector<std::string>& keys,
                                             const RetryScope& scope);

/// Errors that say no key of the list can work, not that one key is missing.
bool StopsAKeyList(const Error& e);

}  // namespace riptide::engine
