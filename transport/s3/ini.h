// INI files as AWS (~/.aws/credentials, ~/.aws/config) and rclone write them.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace riptide::s3 {

/// section → key → value. Keys are lower-cased; `#` and `;` start comment lines;
/// indented lines under a key (AWS's nested `s3 =` blocks) become "key.sub" entries.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;

IniFile ParseIni(std::string_view text);

}  // namespace riptide::s3
