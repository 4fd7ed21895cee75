#include "transport/s3/object_info.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <cstring>

namespace riptide::s3 {

int MultipartEtagParts(const std::string& etag) {
  size_t dash = etag.rfind('-');
  if (dash == std::string::npos || dash + 1 >= etag.size()) return 0;
  int n = 0;
  for (size_t i = dash + 1; i < etag.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(etag[i]))) return 0;
    n = n * 10 + (etag[i] - '0');
    if (n > 100000) return 0;
  }
  return n;
}

bool IsPlainMd5Etag(const std::string& etag) {
  if (etag.size() != 32) return false;
  for (unsigned char c : etag) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

bool ParseContentRange(const std::string& header, ContentRange* out) {
  unsigned long long first, last, total;
  int consumed = 0;
  if (std::sscanf(header.c_str(), "bytes %llu-%llu/%llu%n", &first, &last, &total, &consumed) != 3 ||
      static_cast<size_t>(consumed) != header.size() || last < first || last >= total) {
    return false;
  }
  out->first = first;
  out->last = last;
  out->total = total;
  return true;
}

int64_t ParseIso8601Ms(const std::string& s) {
  int y, mo, d, h, mi, sec;
  char rest[32] = {0};
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%31s", &y, &mo, &d, &h, &mi, &sec, rest) < 6) {
    return -1;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t ms = 0;
  if (rest[0] == '.') {
    int digits = 0;
    for (const char* p = rest + 1; std::isdigit(static_cast<unsigned char>(*p)) && digits < 3; ++p, ++digits) {
      ms = ms * 10 + (*p - '0');
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int64_t ParseHttpDateMs(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return -1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace riptide::s3
