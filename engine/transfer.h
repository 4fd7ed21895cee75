// The messages that flow through the sync graph.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/dataset.h"
#include "transport/result.h"
#include "transport/s3/object_info.h"

namespace riptide::engine {

/// One object on its way from the bucket to the dataset.
struct Transfer {
  s3::ObjectInfo object;   // from the listing; size/ETag/date replaced by the GET's headers
  std::string path;        // relative to the dataset directory
  bool folder = false;     // a folder marker ("dir/"): nothing to fetch
  int attempts = 0;        // GETs started, retries included
  TempFile temp;           // created by the fetch stage
  uint64_t bytes_received = 0;
  std::optional<Error> error;  // set once the object has failed for good
  std::string verified_by;     // "md5", "size", "folder"
  std::string xxh3;
};
using TransferPtr = std::shared_ptr<Transfer>;

/// One listing page and whether it is the last.
using PagePtr = std::shared_ptr<s3::ListPage>;

}  // namespace riptide::engine
