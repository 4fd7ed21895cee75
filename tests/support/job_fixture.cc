#include "tests/support/job_fixture.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace riptide::testing {

namespace fs = std::filesystem;

void JobTest::SetUp() {
  std::string tmpl = (fs::temp_directory_path() / "riptide-job-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  root_ = tmpl;
}

void JobTest::TearDown() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

s3::ClientConfig JobTest::Client(const std::string& access_key) const {
  s3::ClientConfig c;
  c.endpoint = s3::ParseEndpoint(FakeS3::kEndpoint).value();
  c.addressing = s3::Addressing::kPath;
  c.credentials = {access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  return c;
}

engine::SyncOptions JobTest::Sync(const std::string& bucket, const std::string& prefix,
                                  const std::string& dir) const {
  engine::SyncOptions o;
  o.client = Client();
  o.bucket = bucket;
  o.prefix = prefix;
  o.dataset_dir = root_ + "/" + dir;
  o.scratch_dir = root_;
  o.concurrency = 16;
  o.parts.part_size_bytes = 64 << 10;
  o.parts.threshold_bytes = 128 << 10;
  o.list_page_size = 7;  // many pages
  o.retry.base = std::chrono::milliseconds(1);
  o.retry.cap = std::chrono::milliseconds(5);
  return o;
}

engine::CopyOptions JobTest::Copy(const std::string& bucket, const std::string& prefix) const {
  engine::CopyOptions o;
  o.destination.client = Client();
  o.destination.bucket = bucket;
  o.destination.prefix = prefix;
  o.state_dir = root_ + "/state";
  o.concurrency = 16;
  o.part_size = 5 << 20;
  o.multipart_threshold = 5 << 20;
  o.list_page_size = 7;
  o.retry.base = std::chrono::milliseconds(1);
  o.retry.cap = std::chrono::milliseconds(5);
  return o;
}

std::string JobTest::ReadFile(const std::string& path) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<missing>";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> JobTest::FilesUnder(const std::string& dir) const {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename() == ".riptide") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void JobTest::WriteFile(const std::string& path, const std::string& data) const {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::string JobTest::Bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace riptide::testing
