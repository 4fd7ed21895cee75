#include "transport/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace riptide {

Result<uint64_t> ParseByteSize(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) {
    return MakeError(ErrorCode::kInvalidArgument, "not a size");
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  std::string unit(end);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (unit.size() == 2 && unit.back() == 'i') unit.pop_back();
  int shift = 0;
  if (unit.size() > 1) return MakeError(ErrorCode::kInvalidArgument, "unknown unit '" + std::string(end) + "'");
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: return MakeError(ErrorCode::kInvalidArgument, "unknown unit '" + std::string(end) + "'");
    }
  }
  const double bytes = std::ldexp(value, shift);
  if (!std::isfinite(bytes) || bytes > std::ldexp(1.0, 60)) return MakeError(ErrorCode::kInvalidArgument, "too large");
  return static_cast<uint64_t>(bytes);
}

}  // namespace riptide
