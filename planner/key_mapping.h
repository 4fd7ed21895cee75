// Object key → path inside the dataset directory. Pure: no file system access.
#pragma once

#include <string>
#include <string_view>

namespace riptide::planner {

/// The name of the state directory inside a dataset; keys may not land in it.
inline constexpr std::string_view kStateDirName = ".riptide";
/// Temp files carry this in their name; keys that do are refused so cleanup never
/// mistakes an object for a stale temp file.
inline constexpr std::string_view kTempMarker = ".riptide-tmp-";

struct KeyMapping {
  enum class Kind { kFile, kFolder, kRefused };
  Kind kind = Kind::kRefused;
  std::string path;    // relative to the dataset directory, '/'-separated; "" = the root
  std::string reason;  // why a key was refused
};

/// Normalises a listing prefix: "" stays "", "data" and "data/" both become "data/".
std::string NormalizePrefix(std::string_view prefix);

/// Maps `key` (which starts with the normalised `prefix`) to a relative path. Refuses
/// keys that would leave the directory or cannot be a file name: empty, "." or ".."
/// segments, absolute keys, NUL and control characters, segments over 255 bytes,
/// paths over 4000 bytes, the state directory's name, the temp-file marker.
/// Keys ending in '/' are folder markers.
KeyMapping MapKey(std::string_view key, std::string_view prefix);

}  // namespace riptide::planner
