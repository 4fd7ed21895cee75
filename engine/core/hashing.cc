#include "engine/core/hashing.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <xxhash.h>
// Debian builds libxxhash for the x86-64 baseline (SSE2); its *_dispatch entry points pick
// the AVX2 or AVX-512 loop at run time: 3 × the speed here (hash_speed: 23.5 GB/s, 7.8).
// The header maps XXH3_128bits_update and its kin onto them.
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/core/checksums.h"
#include "engine/core/md5_lanes.h"
#include "transport/s3/crypto.h"
#include "transport/s3/responses.h"

namespace riptide::engine {
namespace {

using Md5Ctx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Md5Ctx NewMd5() {
  Md5Ctx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  return ctx;
}

s3::Md5Digest FinishMd5(EVP_MD_CTX* ctx) {
  s3::Md5Digest digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest.data(), &len);
  return digest;
}

}  // namespace

struct DigestState::Impl {
  bool with_md5;
  std::vector<uint64_t> part_lengths;
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> xxh{XXH3_createState(), &XXH3_freeState};
  md5::Run whole;  // in lanes beside other streams' when Update is given lanes
  Md5Ctx part = NewMd5();
  std::vector<s3::Md5Digest> part_digests;  // of the finished parts
  size_t part_index = 0;
  uint64_t part_left = 0;
  std::unique_ptr<Checksum> checksum;
};

DigestState::DigestState(bool with_md5, std::vector<uint64_t> part_lengths, const std::string& checksum)
    : impl_(std::make_unique<Impl>()) {
  impl_->with_md5 = with_md5;
  if (!checksum.empty()) impl_->checksum = Checksum::Make(checksum);
  impl_->part_lengths = std::move(part_lengths);
  XXH3_128bits_reset(impl_->xxh.get());
  if (!impl_->part_lengths.empty()) impl_->part_left = impl_->part_lengths[0];
}

DigestState::~DigestState() = default;

void DigestState::Update(const char* p, size_t n, std::vector<md5::Lane>* lanes) {
  Impl& s = *impl_;
  XXH3_128bits_update(s.xxh.get(), p, n);
  if (s.with_md5) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(p);
    if (lanes) {
      s.whole.Stage(bytes, n, *lanes);
    } else {
      s.whole.Update(bytes, n);
    }
  }
  if (s.checksum) s.checksum->Update(p, n);
  size_ += n;
  // Feed each part's MD5 its own bytes, closing parts at their boundaries.
  while (n > 0 && s.part_index < s.part_lengths.size()) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, s.part_left));
    EVP_DigestUpdate(s.part.get(), p, take);
    p += take;
    n -= take;
    s.part_left -= take;
    while (s.part_left == 0 && s.part_index < s.part_lengths.size()) {
      s.part_digests.push_back(FinishMd5(s.part.get()));
      EVP_DigestInit_ex(s.part.get(), EVP_md5(), nullptr);
      if (++s.part_index < s.part_lengths.size()) s.part_left = s.part_lengths[s.part_index];
    }
  }
}

Result<uint64_t> DigestState::UpdateFromFile(int fd, uint64_t from, uint64_t to) {
  constexpr size_t kChunk = 1 << 20;
  thread_local std::vector<char> buf(kChunk);
  uint64_t pos = from;
  while (pos < to) {
    ssize_t n = ::pread(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(kChunk, to - pos)),
                        static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kIo, std::string("reading back a downloaded file: ") + std::strerror(errno));
    }
    if (n == 0) break;
    Update(buf.data(), static_cast<size_t>(n));
    pos += static_cast<uint64_t>(n);
  }
  return pos - from;
}

FileDigest DigestState::Finish() {
  Impl& s = *impl_;
  FileDigest out;
  out.size = size_;
  XXH128_hash_t h = XXH3_128bits_digest(s.xxh.get());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  out.xxh3 = hex;
  if (s.with_md5) out.md5 = s3::HexEncode(s.whole.Digest());
  if (s.checksum) out.checksum = s.checksum->FinishBase64();
  if (!s.part_lengths.empty() && s.part_index == s.part_lengths.size()) {
    out.parts_etag = s3::CompositeEtag(s.part_digests);
  }
  return out;
}

namespace {

// The MD5s of an upload's parts, 16 parts at a time in the lanes of one register, each
// part read in chunks from its own offset; "" when the file ends before the last part.
Result<std::string> PartsEtagInLanes(int fd, const std::vector<uint64_t>& lengths) {
  constexpr uint64_t kChunk = 128 << 10;
  thread_local std::vector<char> buf(md5::kLanes * kChunk);
  std::vector<s3::Md5Digest> digests;
  std::vector<md5::Lane> lanes;
  uint64_t group_offset = 0;
  for (size_t first = 0; first < lengths.size(); first += md5::kLanes) {
    const size_t k = std::min<size_t>(md5::kLanes, lengths.size() - first);
    md5::Run runs[md5::kLanes];
    uint64_t offsets[md5::kLanes], done[md5::kLanes] = {};
    for (size_t i = 0; i < k; ++i) offsets[i] = (i == 0 ? group_offset : offsets[i - 1] + lengths[first + i - 1]);
    for (bool more = true; more;) {
      more = false;
      lanes.clear();
      for (size_t i = 0; i < k; ++i) {
        const uint64_t want = std::min(kChunk, lengths[first + i] - done[i]);
        if (want == 0) continue;
        char* p = buf.data() + i * kChunk;
        const ssize_t n = ::pread(fd, p, static_cast<size_t>(want), static_cast<off_t>(offsets[i] + done[i]));
        if (n < 0 && errno == EINTR) {
          more = true;
          continue;
        }
        if (n < 0) return MakeError(ErrorCode::kIo, std::string("reading back a downloaded file: ") + std::strerror(errno));
        if (n == 0) return std::string();  // shorter than its parts: no composite ETag
        runs[i].Stage(reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(n), lanes);
        done[i] += static_cast<uint64_t>(n);
        more = more || done[i] < lengths[first + i];
      }
      md5::Compress(lanes.data(), static_cast<int>(lanes.size()));
    }
    for (size_t i = 0; i < k; ++i) digests.push_back(runs[i].Digest());
    group_offset = offsets[k - 1] + lengths[first + k - 1];
  }
  return s3::CompositeEtag(digests);
}

}  // namespace

Result<FileDigest> DigestFile(int fd, bool with_md5, const std::vector<uint64_t>& part_lengths,
                              const std::string& checksum) {
  // An upload's parts are independent MD5 streams: where the CPU has the lanes, they are
  // hashed side by side (13 times one stream's speed), the rest in one sequential pass.
  const bool lanes = !part_lengths.empty() && md5::HaveLanes();
  DigestState state(with_md5, lanes ? std::vector<uint64_t>() : part_lengths, checksum);
  auto read = state.UpdateFromFile(fd, 0, UINT64_MAX);
  if (!read.ok()) return read.error();
  FileDigest digest = state.Finish();
  if (lanes) {
    auto etag = PartsEtagInLanes(fd, part_lengths);
    if (!etag.ok()) return etag.error();
    digest.parts_etag = std::move(*etag);
  }
  return digest;
}

}  // namespace riptide::engine
