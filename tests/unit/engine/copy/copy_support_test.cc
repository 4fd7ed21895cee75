// Copies into a bucket: the S3 bodies they send and read, the decisions they make, and
// the order a local directory is walked in.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/copy/copy_support.h"
#include "engine/copy/object_streams.h"
#include "planner/copy_plan.h"
#include "transport/s3/crypto.h"
#include "transport/s3/requests.h"
#include "transport/s3/xml.h"

namespace riptide {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

s3::ObjectInfo Obj(uint64_t size, std::string etag) {
  s3::ObjectInfo o;
  o.size = size;
  o.etag = std::move(etag);
  return o;
}

TEST(CopyXml, CompleteAndDeleteBodiesEscapeAndNumber) {
  EXPECT_EQ(s3::CompleteMultipartUploadXml({"aa", "b&b"}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"b&amp;b\"</ETag></Part></CompleteMultipartUpload>");
  const std::vector<std::string> crcs = {"AAAAAAAAAAE=", "AAAAAAAAAAI="};
  EXPECT_EQ(s3::CompleteMultipartUploadXml({"aa", "bb"}, &crcs),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag><ChecksumCRC64NVME>AAAAAAAAAAE=</ChecksumCRC64NVME></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag><ChecksumCRC64NVME>AAAAAAAAAAI=</ChecksumCRC64NVME></Part>"
            "</CompleteMultipartUpload>");
  const std::string del = s3::DeleteObjectsXml({"a<b>", "x\"y'z&", "cr\r"});
  EXPECT_NE(del.find("<Quiet>true</Quiet>"), std::string::npos);
  EXPECT_NE(del.find("<Key>a&lt;b&gt;</Key>"), std::string::npos);
  EXPECT_NE(del.find("<Key>x&quot;y&apos;z&amp;</Key>"), std::string::npos);
  EXPECT_NE(del.find("<Key>cr&#13;</Key>"), std::string::npos);
}

TEST(CopyXml, ResultEtagsAndErrorsInA200) {
  auto etag = s3::ParseResultEtag(
      "<CopyObjectResult><LastModified>2026-11-22T00:00:00Z</LastModified><ETag>&quot;abc&quot;</ETag>"
      "</CopyObjectResult>");
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, "abc");
  etag = s3::ParseResultEtag("<CompleteMultipartUploadResult><ETag>\"d-2\"</ETag></CompleteMultipartUploadResult>");
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, "d-2");
  // CopyObject and Complete may answer 200 and fail in the body.
  etag = s3::ParseResultEtag("<Error><Code>InternalError</Code><Message>try again</Message></Error>");
  ASSERT_FALSE(etag.ok());
  EXPECT_EQ(etag.error().s3_code, "InternalError");
  EXPECT_TRUE(etag.error().retryable);
  etag = s3::ParseResultEtag("<Error><Code>AccessDenied</Code></Error>");
  ASSERT_FALSE(etag.ok());
  EXPECT_FALSE(etag.error().retryable);
  EXPECT_FALSE(s3::ParseResultEtag("<CopyPartResult></CopyPartResult>").ok());
  EXPECT_FALSE(s3::ParseResultEtag("<CopyPartResult>").ok());
}

TEST(CopyXml, InitiateAndDeleteResults) {
  auto id = s3::ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>XYZ</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "XYZ");
  EXPECT_FALSE(s3::ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").ok());

  auto failures = s3::ParseDeleteResult(
      "<DeleteResult><Deleted><Key>ok</Key></Deleted><Error><Key>a%2Fb</Key><Code>AccessDenied</Code>"
      "<Message>no</Message></Error><EncodingType>url</EncodingType></DeleteResult>");
  ASSERT_TRUE(failures.ok());
  ASSERT_EQ(failures->size(), 1u);
  EXPECT_EQ((*failures)[0].key, "a/b");
  EXPECT_EQ((*failures)[0].code, "AccessDenied");
  EXPECT_FALSE(s3::ParseDeleteResult("<Other/>").ok());
}

TEST(CopyRequests, HeadersCarryIntegrityAndSource) {
  s3::ClientConfig c;
  c.endpoint = *s3::ParseEndpoint("http://127.0.0.1:9000");
  c.credentials = {"AK", "SK", ""};
  s3::RequestFactory f(c);
  auto header = [](const http::Request& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return std::string();
  };
  auto put = f.UploadPart("b", "dir/a b", "ID/1", 3, std::make_shared<const std::string>("hello"),
                          s3::Base64Md5("hello"));
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, "http://127.0.0.1:9000/b/dir/a%20b?partNumber=3&uploadId=ID%2F1");
  EXPECT_EQ(header(put, "Content-MD5"), "XUFAKrxLKna5cZ2REBfFkg==");
  EXPECT_EQ(put.Body(), "hello");
  auto copy = f.UploadPartCopy("b", "k", "ID", 1, {"src", "p/x y+z", "etag1"}, {0, 99});
  EXPECT_EQ(header(copy, "x-amz-copy-source"), "/src/p/x%20y%2Bz");
  EXPECT_EQ(header(copy, "x-amz-copy-source-if-match"), "\"etag1\"");
  EXPECT_EQ(header(copy, "x-amz-copy-source-range"), "bytes=0-99");
  auto del = f.DeleteObjects("b", {"k1"});
  EXPECT_EQ(del.url, "http://127.0.0.1:9000/b?delete=");
  EXPECT_EQ(header(del, "Content-MD5"), s3::Base64Md5(del.body));
  EXPECT_EQ(s3::HexMd5ToBase64("5d41402abc4b2a76b9719d911017c592"), "XUFAKrxLKna5cZ2REBfFkg==");
  EXPECT_EQ(s3::HexMd5ToBase64("xyz"), "");
}

TEST(CopySupport, EncryptedObjectsHaveNoMd5Etags) {
  EXPECT_TRUE(s3::EtagsAreMd5({}));
  EXPECT_TRUE(s3::EtagsAreMd5({{"x-amz-server-side-encryption", "AES256"}}));
  EXPECT_FALSE(s3::EtagsAreMd5({{"x-amz-server-side-encryption", "aws:kms"}}));
  EXPECT_FALSE(s3::EtagsAreMd5({{"x-amz-server-side-encryption", "aws:kms:dsse"}}));
  EXPECT_FALSE(s3::EtagsAreMd5({{"x-amz-server-side-encryption-customer-algorithm", "AES256"}}));
  // A PUT answered with another MD5 is an integrity error, unless the ETag is no MD5.
  http::Response r;
  r.headers = {{"etag", "\"0123456789abcdef0123456789abcdef\""}};
  EXPECT_FALSE(s3::EtagIsMd5(r, "fedcba9876543210fedcba9876543210").ok());
  EXPECT_TRUE(s3::EtagIsMd5(r, "0123456789abcdef0123456789abcdef").ok());
  r.headers["x-amz-server-side-encryption"] = "aws:kms";
  EXPECT_TRUE(s3::EtagIsMd5(r, "fedcba9876543210fedcba9876543210").ok());
}

TEST(CopySupport, CompositeEtagAndContentTypes) {
  // Two parts "a" and "b": md5(md5("a") ‖ md5("b"))-2.
  const std::string a = s3::Md5Hex("a"), b = s3::Md5Hex("b");
  std::string raw;
  for (const auto& hex : {a, b}) {
    for (size_t i = 0; i < 32; i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  EXPECT_EQ(s3::CompositeEtag({a, b}), s3::Md5Hex(raw) + "-2");
  EXPECT_EQ(s3::CompositeEtag({a, "not-an-md5"}), "");
  EXPECT_EQ(engine::ContentTypeFor("dir.d/file.JSON"), "application/json");
  EXPECT_EQ(engine::ContentTypeFor("dir.txt/file"), "application/octet-stream");
  auto meta = s3::MetadataOf({{"content-type", "text/csv"}, {"x-amz-meta-who", "me"}, {"etag", "x"},
                                  {"x-amz-request-id", "r"}});
  EXPECT_EQ(meta, (s3::RequestFactory::Headers{{"content-type", "text/csv"}, {"x-amz-meta-who", "me"}}));
}

TEST(CopyPlan, EtagsDecideWhenComparable) {
  using planner::Sameness;
  const std::string a = "0123456789abcdef0123456789abcdef", b = "fedcba9876543210fedcba9876543210";
  EXPECT_EQ(planner::CompareObjects(Obj(5, a), Obj(5, a)), Sameness::kSame);
  EXPECT_EQ(planner::CompareObjects(Obj(5, a), Obj(6, a)), Sameness::kDifferent);
  EXPECT_EQ(planner::CompareObjects(Obj(5, a), Obj(5, b)), Sameness::kDifferent);
  EXPECT_EQ(planner::CompareObjects(Obj(5, a + "-2"), Obj(5, b + "-2")), Sameness::kDifferent);
  // Another part count, or a plain MD5 against a multipart ETag: only the size tells.
  EXPECT_EQ(planner::CompareObjects(Obj(5, a + "-2"), Obj(5, b + "-3")), Sameness::kUnknown);
  EXPECT_EQ(planner::CompareObjects(Obj(5, a + "-2"), Obj(5, b)), Sameness::kUnknown);
  EXPECT_EQ(planner::CompareObjects(Obj(5, "kms-opaque"), Obj(5, "other")), Sameness::kUnknown);
}

TEST(CopyPlan, LocalFilesCompareBySizeAndSeconds) {
  s3::ObjectInfo dst = Obj(10, "x");
  dst.last_modified_ms = 1'700'000'000'000;
  EXPECT_TRUE(planner::LocalFileUnchanged(10, 1'700'000'000'999, dst));   // same second
  EXPECT_TRUE(planner::LocalFileUnchanged(10, 1'699'999'000'000, dst));   // older
  EXPECT_FALSE(planner::LocalFileUnchanged(10, 1'700'000'001'000, dst));  // newer
  EXPECT_FALSE(planner::LocalFileUnchanged(11, 1'600'000'000'000, dst));  // resized
}

TEST(CopyPlan, PartSizesStayWithinS3Limits) {
  EXPECT_EQ(planner::UploadPartSize(100 * kMiB, kMiB), 5 * kMiB);  // 5 MiB minimum
  EXPECT_EQ(planner::UploadPartSize(100 * kMiB, 16 * kMiB), 16 * kMiB);
  // 1 TiB in 16 MiB parts would be 65,536 parts: grown to whole MiB within 10,000.
  const uint64_t tib = 1ull << 40;
  const uint64_t part = planner::UploadPartSize(tib, 16 * kMiB);
  EXPECT_EQ(part % kMiB, 0u);
  EXPECT_LE((tib + part - 1) / part, 10000u);
  EXPECT_GT((tib + part - kMiB - 1) / (part - kMiB), 10000u);  // and no bigger than needed
  EXPECT_EQ(planner::CutParts(11, 5), (std::vector<uint64_t>{5, 5, 1}));
  EXPECT_EQ(planner::CutParts(10, 5), (std::vector<uint64_t>{5, 5}));
  EXPECT_EQ(planner::CutParts(0, 5), (std::vector<uint64_t>{0}));
  // 10 MiB + 1 in 3 parts was cut at 5 MiB (not at the 4 MiB the count alone suggests).
  EXPECT_EQ(planner::GuessUploadParts(10 * kMiB + 1, 3, 16 * kMiB),
            (std::vector<uint64_t>{5 * kMiB, 5 * kMiB, 1}));
  EXPECT_EQ(planner::GuessUploadParts(100 * kMiB, 4, 16 * kMiB).front(), 32 * kMiB);
  EXPECT_TRUE(planner::GuessUploadParts(10, 0, 5).empty());
}

TEST(LocalTreeStream, WalksInKeyByteOrderAndSkipsLinksAndState) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("riptide-walk-" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const char* rel : {"a/b", "a-b", "a.txt", "a/c/d", "b", ".riptide/manifest.db", "z/.riptide"}) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << rel;
  }
  fs::create_symlink("/etc/passwd", root / "link");
  engine::LocalTreeStream walk(root.string());
  ASSERT_TRUE(walk.Start().ok());
  std::vector<std::string> keys;
  engine::StreamEntry e;
  for (;;) {
    auto more = walk.Next(&e);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    keys.push_back(e.rel);
    EXPECT_EQ(e.info.size, e.rel.size());
  }
  // '-' < '.' < '/': the order ListObjectsV2 would give these keys.
  EXPECT_EQ(keys, (std::vector<std::string>{"a-b", "a.txt", "a/b", "a/c/d", "b", "z/.riptide"}));
  EXPECT_TRUE(walk.sorted());
  EXPECT_TRUE(walk.complete());
  EXPECT_EQ(walk.skipped(), 1u);
  fs::remove_all(root);
}

// A tree changed between the walk and the read: a folder swapped for a link to a
// folder holding a file of the same name, a file swapped for a FIFO. Neither is read,
// and the FIFO does not block.
TEST(LocalTreeStream, ReadsOnlyTheFilesItListed) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("riptide-swap-" + std::to_string(::getpid()));
  const fs::path elsewhere = fs::temp_directory_path() / ("riptide-secret-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::remove_all(elsewhere);
  fs::create_directories(root / "sub");
  fs::create_directories(elsewhere);
  std::ofstream(root / "sub" / "shadow") << "public";
  std::ofstream(root / "pipe") << "plain";
  std::ofstream(elsewhere / "shadow") << "SECRET";
  engine::LocalTreeStream walk(root.string());
  ASSERT_TRUE(walk.Start().ok());
  std::map<std::string, engine::StreamEntry> listed;
  engine::StreamEntry e;
  while (*walk.Next(&e)) listed[e.rel] = e;
  ASSERT_EQ(listed.size(), 2u);
  ASSERT_TRUE(engine::ReadLocalRange(listed["sub/shadow"], 0, 6).ok());

  fs::remove_all(root / "sub");
  fs::create_directory_symlink(elsewhere, root / "sub");
  auto swapped = engine::ReadLocalRange(listed["sub/shadow"], 0, 6);
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.error().message.find("not the file riptide listed"), std::string::npos);

  fs::remove(root / "pipe");
  ASSERT_EQ(::mkfifo((root / "pipe").c_str(), 0600), 0);
  auto fifo = engine::ReadLocalRange(listed["pipe"], 0, 5);  // would block for ever without O_NONBLOCK
  ASSERT_FALSE(fifo.ok());
  EXPECT_NE(fifo.error().message.find("no longer a regular file"), std::string::npos);
  fs::remove_all(root);
  fs::remove_all(elsewhere);
}

}  // namespace
}  // namespace riptide
