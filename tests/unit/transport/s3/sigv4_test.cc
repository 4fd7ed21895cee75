// SigV4 against the worked examples in AWS's documentation.
#include "transport/s3/sigv4.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "transport/s3/crypto.h"

namespace riptide::s3 {
namespace {

std::chrono::system_clock::time_point At(int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

std::string HeaderValue(const http::Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

// Signs `r` as the S3 documentation's examples do: their key, 20130524T000000Z, no body.
void SignS3Example(http::Request& r) {
  static const Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  SigningParams p;
  p.credentials = &creds;
  p.time = At(1369353600);
  p.payload_hash = std::string(kEmptySha256);
  SignRequest(r, p);
}

// S3 docs, "Example: GET Object": bytes 0-9 of examplebucket/test.txt.
TEST(SigV4, S3GetObjectWithRange) {
  http::Request r;
  r.url = "https://examplebucket.s3.amazonaws.com/test.txt";
  r.headers.emplace_back("Range", "bytes=0-9");
  SignS3Example(r);
  EXPECT_EQ(HeaderValue(r, "x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(HeaderValue(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// S3 docs, "Example: GET Bucket (List Objects)": query parameters sorted and encoded.
TEST(SigV4, S3ListObjectsQuery) {
  http::Request r;
  r.url = "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2";
  SignS3Example(r);
  EXPECT_NE(HeaderValue(r, "Authorization").find("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            std::string::npos)
      << HeaderValue(r, "Authorization");
}

// The SigV4 test suite's "get-vanilla", step by step.
TEST(SigV4, GetVanillaSteps) {
  http::Request r;
  r.url = "https://example.amazonaws.com/";
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  std::string signed_headers;
  std::string canonical = CanonicalRequest(r, kEmptySha256, &signed_headers);
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(signed_headers, "host;x-amz-date");
  std::string sts = StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(Signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service", sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// Each thread keeps the day's signing key: a new secret, day, region or service must
// derive another, and going back must not keep the last one.
TEST(SigV4, TheSigningKeyFollowsTheSecretTheDayTheRegionAndTheService) {
  auto by_hand = [](const std::string& secret, const std::string& date, const std::string& region,
                    const std::string& service) {
    auto view = [](const Sha256Digest& d) { return std::string_view(reinterpret_cast<const char*>(d.data()), 32); };
    Sha256Digest k = HmacSha256("AWS4" + secret, date);
    k = HmacSha256(view(k), region);
    k = HmacSha256(view(k), service);
    k = HmacSha256(view(k), "aws4_request");
    return HexEncode(HmacSha256(view(k), "to sign"));
  };
  const std::vector<std::array<std::string, 4>> turns = {
      {"one", "20261201", "us-east-1", "s3"}, {"two", "20261201", "us-east-1", "s3"},
      {"one", "20261202", "us-east-1", "s3"}, {"one", "20261202", "eu-west-1", "s3"},
      {"one", "20261202", "eu-west-1", "sts"}, {"one", "20261201", "us-east-1", "s3"}};
  std::set<std::string> seen;
  for (const auto& [secret, date, region, service] : turns) {
    const std::string got = Signature(secret, date, region, service, "to sign");
    EXPECT_EQ(got, by_hand(secret, date, region, service)) << secret << " " << date << " " << region << " " << service;
    seen.insert(got);
  }
  EXPECT_EQ(seen.size(), turns.size() - 1) << "the last turn repeats the first";
}

// HMAC's contexts are kept per thread and given each call's key: an empty key is a key
// of its own (RFC 4231 leaves it to zero padding), never the previous call's.
TEST(SigV4, HmacTakesEachCallsKeyEvenAnEmptyOne) {
  EXPECT_EQ(HexEncode(HmacSha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  EXPECT_EQ(HexEncode(HmacSha256(std::string_view(), "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(HexEncode(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SigV4, SessionTokenIsSentAndSigned) {
  Credentials creds{"AKID", "secret", "token/with+chars"};
  http::Request r;
  r.url = "http://127.0.0.1:9000/bucket/key";
  SigningParams p;
  p.credentials = &creds;
  p.time = At(1369353600);
  SignRequest(r, p);
  EXPECT_EQ(HeaderValue(r, "x-amz-security-token"), "token/with+chars");
  EXPECT_EQ(HeaderValue(r, "Host"), "127.0.0.1:9000");
  EXPECT_NE(HeaderValue(r, "Authorization").find("x-amz-security-token"), std::string::npos);
  EXPECT_EQ(HeaderValue(r, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
}

}  // namespace
}  // namespace riptide::s3
