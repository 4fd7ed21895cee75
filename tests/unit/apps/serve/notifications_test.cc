#include "apps/serve/notifications.h"

#include <gtest/gtest.h>

#include <map>

namespace riptide::serve {
namespace {

HeaderFn Headers(std::map<std::string, std::string> h = {}) {
  return [h](const std::string& name) {
    auto it = h.find(name);
    return it == h.end() ? std::string() : it->second;
  };
}

TEST(Notifications, S3RecordsDecodeKeysAndSkipOtherRecords) {
  const std::string body = R"({"Records":[
    {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
     "object":{"key":"in/with+space%2Bplus/%C3%BC.txt","size":5,"eTag":"abc","sequencer":"01"}}},
    {"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"src"},"object":{"key":"in/old","sequencer":"02"}}},
    {"eventName":"s3:ObjectTagging:Put","s3":{"bucket":{"name":"src"},"object":{"key":"in/t"}}}]})";
  auto n = ParseNotifications(body, Headers());
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_EQ(n->size(), 2u);
  EXPECT_EQ((*n)[0].key, "in/with space+plus/\xC3\xBC.txt");
  EXPECT_EQ((*n)[0].etag, "abc");
  EXPECT_EQ((*n)[0].size, 5);
  EXPECT_FALSE((*n)[0].removed);
  EXPECT_TRUE((*n)[1].removed);
  EXPECT_EQ((*n)[1].sequencer, "02");
}

TEST(Notifications, CosBodyWithCloudEventHeaders) {
  const std::string body = R"({"bucket":"b1","endpoint":"","key":"doc.pdf","operation":"Object:Write",
    "notification":{"bucket_name":"b1","event_type":"Object:Write","object_etag":"3cf3","object_length":"128618",
    "object_name":"doc.pdf","request_id":"r1"}})";
  auto n = ParseNotifications(body, Headers({{"ce-specversion", "1.0"}, {"ce-id", "e1"},
                                              {"ce-type", "com.ibm.cloud.cos.document.write"}}));
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_EQ(n->size(), 1u);
  EXPECT_EQ(((*n)[0].bucket), "b1");
  EXPECT_EQ(((*n)[0].format), "cos");
  EXPECT_EQ(((*n)[0].size), 128618);
  EXPECT_EQ(((*n)[0].id), "e1");
}

TEST(Notifications, HeadersAloneNameTheObject) {
  auto n = ParseNotifications("", Headers({{"ce-specversion", "1.0"}, {"ce-subject", "k/x"},
                                           {"ce-source", "https://cloud.ibm.com/catalog/x/bucket-7"},
                                           {"ce-type", "com.ibm.cloud.cos.document.delete"}}));
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_EQ(n->size(), 1u);
  EXPECT_EQ((*n)[0].bucket, "bucket-7");
  EXPECT_EQ((*n)[0].key, "k/x");
  EXPECT_TRUE((*n)[0].removed);
}

TEST(Notifications, StructuredCloudEventAndSnsEnvelope) {
  auto ce = ParseNotifications(R"({"specversion":"1.0","id":"9","type":"t","source":"s","subject":"a",
    "data":{"bucket":"b","key":"a","operation":"Object:Write"}})", Headers());
  ASSERT_TRUE(ce.ok()) << ce.error().message;
  EXPECT_EQ((*ce)[0].id, "9");
  auto sns = ParseNotifications(
      R"({"Type":"Notification","Message":"{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"x\"}}}]}"})",
      Headers());
  ASSERT_TRUE(sns.ok()) << sns.error().message;
  EXPECT_EQ((*sns)[0].key, "x");
}

TEST(Notifications, PlainAndTestEvents) {
  auto plain = ParseNotifications(R"({"bucket":"b","key":"k","event":"removed"})", Headers());
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE((*plain)[0].removed);
  auto test = ParseNotifications(R"({"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"})", Headers());
  ASSERT_TRUE(test.ok());
  EXPECT_TRUE(test->empty());
}

TEST(Notifications, RefusesWhatItCannotRead) {
  for (const char* body : {"nope", "{}", R"({"bucket":"b"})", R"({"bucket":"b","key":"k","event":"moved"})",
                           R"({"Records":{}})", R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{}}]})",
                           R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]})"}) {
    auto n = ParseNotifications(body, Headers());
    EXPECT_FALSE(n.ok()) << body;
    if (!n.ok()) {
      EXPECT_FALSE(n.error().message.empty());
    }
  }
  EXPECT_FALSE(ParseNotifications(R"({"bucket":"b","key":")" + std::string(1025, 'k') + "\"}", Headers()).ok());
}

}  // namespace
}  // namespace riptide::serve
