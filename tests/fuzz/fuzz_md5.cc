// libFuzzer target: the MD5 lanes (each kernel this CPU runs) against OpenSSL. The input
// is cut into up to 20 buffers of fuzzer-chosen lengths (more than the lanes, uneven,
// empty ones too); every digest must be OpenSSL's.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/md5_lanes.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string OpensslHex(std::string_view b) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(b.data(), b.size(), d, &len, EVP_md5(), nullptr);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) (out += kDigits[d[i] >> 4]) += kDigits[d[i] & 15];
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t count = 1 + data[0] % 20;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> buffers;
  for (size_t i = 0; i < count; ++i) {
    const size_t n = i + 1 == count || rest.empty() ? rest.size() : static_cast<uint8_t>(rest[0]) * 7 % (rest.size() + 1);
    buffers.push_back(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  using riptide::engine::md5::Kernel;
  for (Kernel k : {Kernel::kAvx2, Kernel::kAvx512}) {
    if (!riptide::engine::md5::Runs(k)) continue;
    const std::vector<std::string> got = riptide::engine::md5::HexDigests(buffers, k);
    Check(got.size() == buffers.size());
    for (size_t i = 0; i < buffers.size(); ++i) Check(got[i] == OpensslHex(buffers[i]));
  }
  return 0;
}
