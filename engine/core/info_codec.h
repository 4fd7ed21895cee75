// ObjectInfo as bytes, for what riptide spools to disk (listings it sorts or reads ahead):
// fixed-width integers and length-prefixed strings, read back by the same build.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "transport/s3/object_info.h"

namespace riptide::engine::codec {

/// An anonymous temp file for a spool, in $TMPDIR (else /tmp), gone when closed; nullptr
/// when none can be made. (std::tmpfile ignores TMPDIR, so a full /tmp could not be
/// avoided.)
std::FILE* SpoolFile();

void PutU64(std::string* out, uint64_t v);
void PutString(std::string* out, std::string_view s);
void PutInfo(std::string* out, const s3::ObjectInfo& info);

// Each takes its value off the front of `in`; false when `in` is too short.
bool TakeU64(std::string_view* in, uint64_t* v);
bool TakeString(std::string_view* in, std::string* s);
bool TakeInfo(std::string_view* in, s3::ObjectInfo* info);

}  // namespace riptide::engine::codec
