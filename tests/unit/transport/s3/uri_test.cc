#include "transport/s3/uri.h"

#include <gtest/gtest.h>

#include "transport/s3/requests.h"

namespace riptide::s3 {
namespace {

TEST(UriEncode, KeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(UriEncode("a b/c+d%e=f&g~h", true), "a%20b/c%2Bd%25e%3Df%26g~h");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xa9", true), "%C3%A9");
}

TEST(UriDecode, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(*UriDecode("a+b%2Bc%2F", true), "a b+c/");
  EXPECT_EQ(*UriDecode("a+b", false), "a+b");
  EXPECT_FALSE(UriDecode("bad%2", true).ok());
  EXPECT_FALSE(UriDecode("bad%zz", true).ok());
}

TEST(ParseS3Url, BucketAndPrefix) {
  auto u = ParseS3Url("s3://my-bucket/some/prefix/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->prefix, "some/prefix/");
  EXPECT_EQ(ParseS3Url("s3://b")->prefix, "");
  EXPECT_FALSE(ParseS3Url("http://b/x").ok());
  EXPECT_FALSE(ParseS3Url("s3:///x").ok());
  EXPECT_FALSE(ParseS3Url("s3://bad bucket/x").ok());
}

TEST(ParseEndpoint, Forms) {
  auto e = ParseEndpoint("http://127.0.0.1:9000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "9000");
  EXPECT_TRUE(e->IsIpOrLocalhost());
  auto v6 = ParseEndpoint("https://[::1]:8443/base/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Authority(), "[::1]:8443");
  EXPECT_EQ(v6->base_path, "/base");
  EXPECT_FALSE(ParseEndpoint("127.0.0.1:9000").ok());
  EXPECT_FALSE(ParseEndpoint("ftp://x").ok());
  EXPECT_FALSE(ParseEndpoint("http://host:99999").ok());
  EXPECT_FALSE(ParseEndpoint("http://user:pw@host").ok());
  // The refusal never echoes the credentials, wherever they sit.
  for (const char* url : {"http://AKIDX:wJalrSECRET@host", "https://AKIDX:wJalrSECRET@host:99/p",
                          "http://AKIDX:wJalr@SECRET@host/x@y"}) {
    auto e = ParseEndpoint(url);
    ASSERT_FALSE(e.ok()) << url;
    EXPECT_EQ(e.error().message.find("SECRET"), std::string::npos) << e.error().message;
    EXPECT_EQ(e.error().message.find("AKIDX"), std::string::npos) << e.error().message;
    EXPECT_NE(e.error().message.find("credentials do not belong in the URL"), std::string::npos);
  }
  EXPECT_FALSE(ParseEndpoint("http://").ok());
}

TEST(RequestFactory, AddressingStyles) {
  ClientConfig c;
  c.endpoint = *ParseEndpoint("http://127.0.0.1:9000");
  c.anonymous = true;
  EXPECT_EQ(RequestFactory(c).GetObject("bkt", "a b/c").url, "http://127.0.0.1:9000/bkt/a%20b/c");
  c.endpoint = *ParseEndpoint("https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(RequestFactory(c).GetObject("bkt", "k").url, "https://bkt.s3.eu-west-1.amazonaws.com/k");
  EXPECT_EQ(RequestFactory(c).GetObject("dotted.bucket", "k").url,
            "https://s3.eu-west-1.amazonaws.com/dotted.bucket/k");
  c.addressing = Addressing::kPath;
  EXPECT_EQ(RequestFactory(c).GetObject("bkt", "k").url, "https://s3.eu-west-1.amazonaws.com/bkt/k");
  auto list = RequestFactory(c).ListObjectsV2("bkt", ListParams{"p/", "tok+=", "", "", 10});
  EXPECT_EQ(list.url,
            "https://s3.eu-west-1.amazonaws.com/bkt?continuation-token=tok%2B%3D&encoding-type=url&"
            "list-type=2&max-keys=10&prefix=p%2F");
}

}  // namespace
}  // namespace riptide::s3
