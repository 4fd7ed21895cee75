// A transfer through a command: each source object's bytes are fed to the command's
// stdin, and what it writes to stdout becomes the destination object (a key in a bucket,
// streamed in parts with no temporary file, or a file in a directory, renamed into place).
// A non-zero exit, a timeout or a source that does not match its ETag fails the object:
// nothing appears under its final name.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/job_spec.h"
#include "engine/core/job.h"

namespace riptide::engine {

struct ProcessCommand {
  std::vector<std::string> argv;  // run as is: a shell only when argv says /bin/sh -c
  std::chrono::seconds timeout{300};  // per object
  std::string suffix;             // appended to each destination name
};

struct ProcessOptions {
  BucketSide source;                      // prefix "" or a folder
  std::optional<BucketSide> destination;  // a bucket, or else ...
  std::string destination_dir;            // ... a directory
  std::vector<std::string> keys;          // whole source keys (event runs); empty: list the source
  planner::KeyFilter filter;
  ProcessCommand command;
  int workers = 8;                        // objects (commands) at once
  uint64_t part_size = 16ull << 20;       // upload parts, and ranged GETs of the source
  int list_page_size = 1000;
  int list_concurrency = 1;
  RetryPolicy retry;
};

/// The options of a resolved job (a download or a copy from a bucket) run through `command`.
Result<ProcessOptions> ProcessOptionsOf(const JobOptions& resolved, ProcessCommand command);

Result<SyncReport> RunProcess(const ProcessOptions& options, const JobHost& host);

}  // namespace riptide::engine
