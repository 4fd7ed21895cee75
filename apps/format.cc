#include "apps/format.h"

#include <cstdio>
#include <ctime>

namespace riptide::app {
namespace {

std::string FormatTime(int64_t ms, bool utc, const char* format) {
  if (ms < 0) return "unknown";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string HumanRate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return HumanBytes(static_cast<double>(bytes) / seconds) + "/s";
}

std::string UtcTime(int64_t ms) { return FormatTime(ms, true, "%Y-%m-%dT%H:%M:%SZ"); }

std::string LocalTime(int64_t ms) { return FormatTime(ms, false, "%Y-%m-%d %H:%M:%S"); }

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Printable(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace riptide::app
