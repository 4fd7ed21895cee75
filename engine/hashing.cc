#include "engine/hashing.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "transport/s3/crypto.h"

namespace riptide::engine {
namespace {

using Md5Ctx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Md5Ctx NewMd5() {
  Md5Ctx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  return ctx;
}

std::string FinishMd5(EVP_MD_CTX* ctx, std::string* raw) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  if (raw) raw->append(reinterpret_cast<char*>(digest), len);
  return s3::HexEncode(digest, len);
}

}  // namespace

Result<FileDigest> DigestFile(int fd, bool with_md5, const std::vector<uint64_t>& part_lengths) {
  constexpr size_t kChunk = 1 << 20;
  thread_local std::vector<char> buf(kChunk);
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> xxh(XXH3_createState(), &XXH3_freeState);
  XXH3_128bits_reset(xxh.get());
  Md5Ctx whole = NewMd5();
  Md5Ctx part = NewMd5();
  std::string part_digests;  // raw MD5s of the parts, concatenated
  size_t part_index = 0;
  uint64_t part_left = part_lengths.empty() ? 0 : part_lengths[0];
  FileDigest out;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), kChunk, static_cast<off_t>(out.size));
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kIo, std::string("reading back a downloaded file: ") + std::strerror(errno));
    }
    if (n == 0) break;
    const char* p = buf.data();
    XXH3_128bits_update(xxh.get(), p, static_cast<size_t>(n));
    if (with_md5) EVP_DigestUpdate(whole.get(), p, static_cast<size_t>(n));
    // Feed each part's MD5 its own bytes, closing parts at their boundaries.
    for (size_t left = static_cast<size_t>(n); left > 0 && part_index < part_lengths.size();) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(left, part_left));
      EVP_DigestUpdate(part.get(), p, take);
      p += take;
      left -= take;
      part_left -= take;
      while (part_left == 0 && part_index < part_lengths.size()) {
        FinishMd5(part.get(), &part_digests);
        EVP_DigestInit_ex(part.get(), EVP_md5(), nullptr);
        if (++part_index < part_lengths.size()) part_left = part_lengths[part_index];
      }
    }
    out.size += static_cast<uint64_t>(n);
  }
  XXH128_hash_t h = XXH3_128bits_digest(xxh.get());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  out.xxh3 = hex;
  if (with_md5) out.md5 = FinishMd5(whole.get(), nullptr);
  if (!part_lengths.empty() && part_index == part_lengths.size()) {
    Md5Ctx combined = NewMd5();
    EVP_DigestUpdate(combined.get(), part_digests.data(), part_digests.size());
    out.parts_etag = FinishMd5(combined.get(), nullptr) + "-" + std::to_string(part_lengths.size());
  }
  return out;
}

}  // namespace riptide::engine
