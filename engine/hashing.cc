#include "engine/hashing.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "transport/s3/crypto.h"

namespace riptide::engine {

Result<FileDigest> DigestFile(int fd, bool with_md5) {
  constexpr size_t kChunk = 1 << 20;
  thread_local std::vector<char> buf(kChunk);
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> xxh(XXH3_createState(), &XXH3_freeState);
  XXH3_128bits_reset(xxh.get());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md5(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (with_md5) EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr);
  FileDigest out;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), kChunk, static_cast<off_t>(out.size));
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kIo, std::string("reading back a downloaded file: ") + std::strerror(errno));
    }
    if (n == 0) break;
    XXH3_128bits_update(xxh.get(), buf.data(), static_cast<size_t>(n));
    if (with_md5) EVP_DigestUpdate(md5.get(), buf.data(), static_cast<size_t>(n));
    out.size += static_cast<uint64_t>(n);
  }
  XXH128_hash_t h = XXH3_128bits_digest(xxh.get());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  out.xxh3 = hex;
  if (with_md5) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md5.get(), digest, &len);
    out.md5 = s3::HexEncode(digest, len);
  }
  return out;
}

}  // namespace riptide::engine
