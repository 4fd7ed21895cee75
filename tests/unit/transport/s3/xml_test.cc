// ListObjectsV2 and Error bodies, as servers send them.
#include "transport/s3/xml.h"

#include <gtest/gtest.h>

#include "transport/s3/errors.h"

namespace riptide::s3 {
namespace {

constexpr const char* kTruncatedPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>data%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>data%2Fa+b%2Bc%25%26.txt</Key>
    <LastModified>2026-11-22T03:24:48.123Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>
    <Size>1234</Size><StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>data%2F%C3%A9t%C3%A9%2Fempty</Key>
    <LastModified>2026-11-22T03:24:48Z</LastModified>
    <ETag>"d41d8cd98f00b204e9800998ecf8427e-3"</ETag>
    <Size>0</Size>
  </Contents>
</ListBucketResult>)";

TEST(ListObjectsV2, DecodesUrlEncodedKeysAndEntities) {
  auto page = ParseListObjectsV2(kTruncatedPage);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "data/a b+c%&.txt");
  EXPECT_EQ(page->objects[0].etag, "9b2cf535f27731c974343645a3985328");
  EXPECT_EQ(page->objects[0].size, 1234u);
  EXPECT_EQ(page->objects[0].last_modified_ms, 1795317888123);
  EXPECT_EQ(page->objects[1].key, "data/\xc3\xa9t\xc3\xa9/empty");
  EXPECT_EQ(MultipartEtagParts(page->objects[1].etag), 3);
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(ListObjectsV2, NotEncodedWhenServerIgnoresEncodingType) {
  // s3rver ignores encoding-type=url: keys arrive raw, entities and all.
  auto page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b &amp; c%20</Key>"
      "<Size>1</Size><ETag>\"x\"</ETag></Contents></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects[0].key, "a+b & c%20");
  EXPECT_FALSE(page->is_truncated);
}

TEST(ListObjectsV2, EmptyPage) {
  auto page = ParseListObjectsV2(
      "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>"
      "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
}

TEST(ListObjectsV2, RejectsMalformed) {
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<Error><Code>X</Code></Error>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>12x</Size></Contents>"
                                  "</ListBucketResult>").ok());
  // A size no S3 object has (10 EiB; beyond 64 bits) is refused, not planned; 5 TiB is fine.
  for (const char* size : {"11529215046068469760", "99999999999999999999999", "56294995342131201"}) {
    auto page = ParseListObjectsV2(std::string("<ListBucketResult><Contents><Key>k</Key><Size>") + size +
                                   "</Size></Contents></ListBucketResult>");
    ASSERT_FALSE(page.ok()) << size;
    EXPECT_NE(page.error().message.find("beyond the largest object"), std::string::npos);
  }
  EXPECT_TRUE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>5497558138880</Size></Contents>"
                                 "</ListBucketResult>").ok());
  // More entries than max-keys allows: refused, and never all held.
  std::string many = "<ListBucketResult>";
  for (int i = 0; i < 1000; ++i) many += "<Contents><Key>k" + std::to_string(i) + "</Key><Size>1</Size></Contents>";
  EXPECT_TRUE(ParseListObjectsV2(many + "</ListBucketResult>").ok());
  auto over = ParseListObjectsV2(many + "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("more than 1000 entries"), std::string::npos);
  // Truncated without a token would loop forever.
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
}

TEST(ListObjectsV2, RefusesDeepNestingWithoutHoldingIt) {
  // 2 million levels (12 MB): refused at level 33, long before expat holds a frame each.
  std::string deep = "<ListBucketResult>";
  for (int i = 0; i < 2000000; ++i) deep += "<a>";
  auto page = ParseListObjectsV2(deep);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message.find("nested deeper than 32 levels"), std::string::npos) << page.error().message;
  std::string fine = "<ListBucketResult>";
  for (int i = 0; i < 30; ++i) fine += "<a>";
  for (int i = 0; i < 30; ++i) fine += "</a>";
  EXPECT_TRUE(ParseListObjectsV2(fine + "</ListBucketResult>").ok());
}

TEST(ListObjectsV2, RefusesDoctypes) {
  // A billion-laughs body: refused at its DOCTYPE, nothing expanded.
  const char* laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
      "<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size></Contents></ListBucketResult>";
  auto page = ParseListObjectsV2(laughs);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message.find("DOCTYPE"), std::string::npos);
  EXPECT_TRUE(ParseErrorBody("<!DOCTYPE x><Error><Code>SlowDown</Code></Error>").code.empty());
}

TEST(ListMultipartUploads, ParsesUploadsAndMarkers) {
  auto page = ParseListMultipartUploads(
      "<?xml version=\"1.0\"?><ListMultipartUploadsResult><Bucket>b</Bucket><EncodingType>url</EncodingType>"
      "<NextKeyMarker>p%2Fb%20c</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker>"
      "<IsTruncated>true</IsTruncated>"
      "<Upload><Key>p%2Fa</Key><UploadId>id1</UploadId><Initiated>2026-11-22T03:24:48.000Z</Initiated></Upload>"
      "<Upload><Key>p%2Fb%20c</Key><UploadId>id2</UploadId><Initiated>garbage</Initiated></Upload>"
      "</ListMultipartUploadsResult>");
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].key, "p/a");
  EXPECT_EQ(page->uploads[0].upload_id, "id1");
  EXPECT_EQ(page->uploads[0].initiated_ms, ParseIso8601Ms("2026-11-22T03:24:48.000Z"));
  EXPECT_EQ(page->uploads[1].key, "p/b c");
  EXPECT_LT(page->uploads[1].initiated_ms, 0);  // unreadable: never old enough to abort
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_key_marker, "p/b c");
  EXPECT_FALSE(ParseListMultipartUploads("<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
                                         "</ListMultipartUploadsResult>").ok());
  EXPECT_FALSE(ParseListMultipartUploads("<ListBucketResult/>").ok());
}

TEST(Errors, ClassifiedFromBody) {
  http::Response r;
  r.status = 404;
  r.body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket "
           "does not exist</Message><RequestId>abc</RequestId></Error>";
  Error e = ErrorFromResponse(r);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.s3_code, "NoSuchBucket");
  EXPECT_EQ(e.request_id, "abc");
  EXPECT_FALSE(e.retryable);

  r.status = 503;
  r.body = "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>";
  r.headers["retry-after"] = "3";
  e = ErrorFromResponse(r);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.retry_after_s, 3);

  r = http::Response{};
  r.status = 403;  // HEAD: no body
  e = ErrorFromResponse(r);
  EXPECT_EQ(e.code, ErrorCode::kAccessDenied);
  EXPECT_FALSE(e.retryable);

  r.status = 502;
  r.body = "<html>bad gateway</html>";
  EXPECT_TRUE(ErrorFromResponse(r).retryable);

  r.status = 403;
  r.body = "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>";
  EXPECT_EQ(ErrorFromResponse(r).code, ErrorCode::kCredentials);
}

TEST(Xml, ListBucketsInTheServersOrder) {
  auto b = ParseListBuckets(
      "<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets>"
      "<Bucket><Name>beta</Name><CreationDate>2026-01-02T00:00:00.000Z</CreationDate></Bucket>"
      "<Bucket><Name>alpha</Name><CreationDate>2025-12-31T00:00:00.000Z</CreationDate></Bucket>"
      "</Buckets></ListAllMyBucketsResult>");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].first, "beta");
  EXPECT_EQ((*b)[1].second, "2025-12-31T00:00:00.000Z");
  EXPECT_TRUE(ParseListBuckets("<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>")->empty());
  EXPECT_FALSE(ParseListBuckets("<Error><Code>AccessDenied</Code></Error>").ok());
}

}  // namespace
}  // namespace riptide::s3
