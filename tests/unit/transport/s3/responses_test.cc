#include "transport/s3/responses.h"

#include <gtest/gtest.h>

#include "transport/s3/errors.h"

namespace riptide::s3 {
namespace {

TEST(Responses, InfoFromHeaders) {
  auto info = InfoFromHeaders("k", {{"content-length", "1234"},
                                    {"etag", "\"9b2cf535f27731c974343645a3985328-3\""},
                                    {"last-modified", "Wed, 12 Oct 2009 17:50:00 GMT"}});
  EXPECT_EQ(info.key, "k");
  EXPECT_EQ(info.size, 1234u);
  EXPECT_EQ(info.etag, "9b2cf535f27731c974343645a3985328-3");
  EXPECT_EQ(info.last_modified_ms, 1255369800000);
  EXPECT_EQ(InfoFromHeaders("k", {}).last_modified_ms, 0);
}

// One rule for every caller: the part count must be told and match the ETag's.
TEST(Responses, FirstPartSizeNeedsAMatchingPartCount) {
  const std::string etag = "9b2cf535f27731c974343645a3985328-3";
  EXPECT_EQ(FirstPartSize(etag, {{"content-length", "5242880"}, {"x-amz-mp-parts-count", "3"}}), 5242880u);
  EXPECT_EQ(FirstPartSize(etag, {{"content-length", "5242880"}, {"x-amz-mp-parts-count", "2"}}), std::nullopt);
  EXPECT_EQ(FirstPartSize(etag, {{"content-length", "5242880"}}), std::nullopt);
  EXPECT_EQ(FirstPartSize(etag, {{"content-length", "0"}, {"x-amz-mp-parts-count", "3"}}), std::nullopt);
  EXPECT_EQ(FirstPartSize("9b2cf535f27731c974343645a3985328", {{"content-length", "5"}, {"x-amz-mp-parts-count", "1"}}),
            std::nullopt);
}

TEST(Responses, FullObjectChecksumPrefersTheStrongestAndSkipsComposites) {
  const std::string sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  auto c = FullObjectChecksum({{"x-amz-checksum-crc32c", "yZRlqg=="}, {"x-amz-checksum-sha256", sha256}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->algorithm, "SHA256");
  EXPECT_EQ(c->value, sha256);
  EXPECT_FALSE(FullObjectChecksum({{"x-amz-checksum-crc32c", "yZRlqg==-3"}}));
  // A checksum of part checksums, whatever its text looks like, proves no whole object.
  EXPECT_FALSE(FullObjectChecksum({{"x-amz-checksum-crc32c", "yZRlqg=="}, {"x-amz-checksum-type", "COMPOSITE"}}));
  EXPECT_TRUE(FullObjectChecksum({{"x-amz-checksum-crc64nvme", "RH9Kj0hgZpY="}, {"x-amz-checksum-type", "FULL_OBJECT"}}));
  EXPECT_FALSE(FullObjectChecksum({}));
}

// A value that is not the algorithm's width is no checksum of it (moto without awscrt
// sends a CRC32 named CRC64NVME): the next one is taken, or none.
TEST(Responses, FullObjectChecksumOfTheWrongWidthIsNotTaken) {
  EXPECT_FALSE(FullObjectChecksum({{"x-amz-checksum-crc64nvme", "yZRlqg=="}}));
  auto c = FullObjectChecksum({{"x-amz-checksum-crc64nvme", "yZRlqg=="}, {"x-amz-checksum-crc32", "yZRlqg=="}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->algorithm, "CRC32");
  EXPECT_FALSE(FullObjectChecksum({{"x-amz-checksum-sha256", "abc="}}));
  EXPECT_FALSE(FullObjectChecksum({{"x-amz-checksum-crc32c", "yZRl*g=="}}));
  EXPECT_FALSE(FullObjectChecksum({{"x-amz-checksum-crc32c", "yZRlqgA="}}));
  EXPECT_TRUE(FullObjectChecksum({{"x-amz-checksum-sha1", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="}}));
}

TEST(Responses, CompositeEtagFromDigestsAndHexAgree) {
  const std::string a = Md5Hex("a"), b = Md5Hex("b");
  EXPECT_EQ(CompositeEtag(std::vector<std::string>{a, b}), CompositeEtag(std::vector<Md5Digest>{Md5("a"), Md5("b")}));
  EXPECT_EQ(CompositeEtag(std::vector<std::string>{a, "zz"}), "");
}

}  // namespace
}  // namespace riptide::s3

namespace riptide::s3 {
namespace {

TEST(Errors, NotImplementedIsNeitherRetriedNorMistakenForAnOutage) {
  const Error by_code = ErrorFromParts(
      501, {}, "<?xml version=\"1.0\"?><Error><Code>NotImplemented</Code><Message>no</Message></Error>");
  const Error by_status = ErrorFromParts(501, {}, "");
  const Error outage = ErrorFromParts(503, {}, "");
  for (const Error& e : {by_code, by_status}) {
    EXPECT_TRUE(IsNotImplemented(e));
    EXPECT_FALSE(e.retryable);
  }
  EXPECT_FALSE(IsNotImplemented(outage));
  EXPECT_TRUE(outage.retryable);
}

Error S3Error(int status, const std::string& code, const std::string& message) {
  return ErrorFromParts(status, {},
                        "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message + "</Message></Error>");
}

TEST(Errors, ARefusalOfTheChecksumHeadersIsToldFromOtherRefusals) {
  // What servers without (this) checksum answer: B2, gateways without CRC64NVME, R2.
  EXPECT_TRUE(IsChecksumRefused(S3Error(400, "InvalidArgument", "Unsupported header 'x-amz-sdk-checksum-algorithm'")));
  EXPECT_TRUE(IsChecksumRefused(S3Error(400, "InvalidRequest", "CRC64NVME is not supported")));
  EXPECT_TRUE(IsChecksumRefused(S3Error(501, "NotImplemented", "Header 'x-amz-checksum-algorithm' not implemented")));
  EXPECT_TRUE(IsChecksumRefused(ErrorFromParts(501, {}, "")));
  // A checksum checked and found wrong is no refusal, nor is any other 400 or a 403.
  EXPECT_FALSE(IsChecksumRefused(S3Error(400, "BadDigest", "The CRC64NVME you specified did not match")));
  EXPECT_FALSE(IsChecksumRefused(S3Error(400, "EntityTooSmall", "Your proposed upload is smaller")));
  EXPECT_FALSE(IsChecksumRefused(S3Error(403, "AccessDenied", "checksum")));
  EXPECT_FALSE(IsChecksumRefused(ErrorFromParts(400, {}, "")));
}

}  // namespace
}  // namespace riptide::s3
