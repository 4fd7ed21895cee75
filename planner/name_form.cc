#include "planner/name_form.h"

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdlib>
#include <memory>

namespace riptide::planner {
namespace {

bool Ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// NFC, or the name itself where it is not UTF-8.
std::string Normalized(std::string_view name) {
  if (u8_check(Bytes(name), name.size()) != nullptr) return std::string(name);
  size_t length = 0;
  std::unique_ptr<uint8_t, decltype(&std::free)> nfc(
      u8_normalize(UNINORM_NFC, Bytes(name), name.size(), nullptr, &length), &std::free);
  if (!nfc) return std::string(name);
  return std::string(reinterpret_cast<const char*>(nfc.get()), length);
}

// Each code point to its simple upper case; a byte that starts no valid sequence is kept.
std::string Upper(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  const uint8_t* p = Bytes(name);
  const uint8_t* end = p + name.size();
  while (p < end) {
    ucs4_t c = 0;
    const int n = u8_mbtouc(&c, p, static_cast<size_t>(end - p));
    if (c == 0xFFFD && u8_check(p, static_cast<size_t>(n)) != nullptr) {
      out.push_back(static_cast<char>(*p));
      p += 1;
      continue;
    }
    uint8_t buf[6];
    const int m = u8_uctomb(buf, uc_toupper(c), sizeof buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(m > 0 ? m : 0));
    p += n;
  }
  return out;
}

}  // namespace

std::string NameForm(std::string_view name, bool fold_case, bool normalize) {
  if (Ascii(name)) {
    std::string out(name);
    if (fold_case) {
      for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      }
    }
    return out;
  }
  std::string out = normalize ? Normalized(name) : std::string(name);
  return fold_case ? Upper(out) : out;
}

}  // namespace riptide::planner
