// How the commands print values: sizes, times, JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace riptide::app {

/// "1.5 MiB", "12 B": binary units, one decimal.
std::string HumanBytes(double bytes);
/// "45.6 MiB/s", in the units of HumanBytes; "-" before any time has passed.
std::string HumanRate(uint64_t bytes, double seconds);

/// "2026-11-22T03:24:48Z"; "unknown" for a negative time.
std::string UtcTime(int64_t ms);
/// "2026-11-22 04:24:48" in the local time zone; "unknown" for a negative time.
std::string LocalTime(int64_t ms);

/// A key or name for a terminal: control bytes (ESC, CR, …) shown as \xNN, so a
/// hostile key cannot drive the terminal; everything else as it is.
std::string Printable(std::string_view name);

/// One line of JSON; invalid UTF-8 in keys is replaced, never thrown on.
std::string DumpJson(const nlohmann::json& j);

}  // namespace riptide::app
