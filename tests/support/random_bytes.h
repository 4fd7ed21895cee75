// Reproducible random bytes for tests of hashes and checksums.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace riptide::testing {

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace riptide::testing
