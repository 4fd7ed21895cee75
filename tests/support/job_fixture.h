// A fixture for jobs on the in-memory store: a scratch directory, client options that
// point at the store, and helpers to read what landed on disk.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "engine/copy/copy_options.h"
#include "engine/core/job.h"
#include "engine/download/sync_options.h"
#include "tests/support/fake_s3.h"

namespace riptide::testing {

class JobTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Client settings for the store: path-style, static keys, quick retries.
  s3::ClientConfig Client(const std::string& access_key = "AKIDEXAMPLE") const;
  /// A sync of s3://BUCKET/PREFIX into `dir` (under the scratch directory).
  engine::SyncOptions Sync(const std::string& bucket, const std::string& prefix, const std::string& dir) const;
  /// A copy into s3://BUCKET/PREFIX (source left for the test to set).
  engine::CopyOptions Copy(const std::string& bucket, const std::string& prefix) const;
  /// A host on the store, cancelled through `cancel_`.
  engine::JobHost Host(engine::ObjectFn on_object = nullptr) {
    return engine::JobHost{store_.Factory(), engine::CancelToken(&cancel_), nullptr, std::move(on_object)};
  }

  /// The whole file, or "<missing>".
  std::string ReadFile(const std::string& path) const;
  /// Regular files under `dir`, relative, sorted, skipping the state directory.
  std::vector<std::string> FilesUnder(const std::string& dir) const;
  void WriteFile(const std::string& path, const std::string& data) const;
  /// `n` bytes that differ per `seed`.
  static std::string Bytes(size_t n, unsigned seed);

  FakeS3 store_;
  std::atomic<bool> cancel_{false};
  std::string root_;  // scratch directory, removed after the test
};

}  // namespace riptide::testing
