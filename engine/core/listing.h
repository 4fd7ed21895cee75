// Paginated ListObjectsV2 with retries, for the sync's list stage and for the commands
// that only read a bucket (`ls`, `tree`, `map`).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/core/async_call.h"
#include "engine/core/retry.h"
#include "transport/http/transport.h"
#include "transport/result.h"
#include "transport/s3/object_info.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

class RangeLister;

/// Key ranges of one listing fetched at once unless a command says otherwise: 4 lists a
/// far server's prefix ~3x faster, and costs a single-threaded local one (s3rver, which
/// spends its CPU on each page) at most a tenth (perf/list_bench.py).
inline constexpr int kDefaultListConcurrency = 4;

struct ListTarget {
  http::Transport& transport;
  const s3::RequestFactory& requests;
  std::string bucket;
  RetryPolicy retry;
  const std::atomic<bool>* stop = nullptr;   // stop retrying once set
  Stats* stats = nullptr;  // counts retries when set

  RetryScope Scope() const { return RetryScope{retry, stop, stats}; }
  /// One S3 call to this target, retried by the run's policy, waited for. `check` judges
  /// a 2xx answer (a parse): its retryable errors are retried like the transport's.
  Result<http::Response> Call(AsyncCall::Make make, AsyncCall::Check check = nullptr) const {
    return CallAndWait(transport, Scope(), std::move(make), std::move(check));
  }
};

/// A listing must move on: each truncated page names a continuation token (or marker)
/// this listing has not seen. A server that repeats one, or cycles through a few, would
/// otherwise keep every run listing for ever. Memory: a hash per page.
class ListingProgress {
 public:
  Status Advance(bool truncated, const std::string& token);

 private:
  std::unordered_set<size_t> seen_;
  uint64_t pages_ = 0;
};

/// One page, retried while the error is retryable and attempts are left.
Result<s3::ListPage> ListOnePage(const ListTarget& target, const s3::ListParams& params);

/// Every page under `params` in order, through a PageReader (`concurrency` key ranges at
/// once); `fn` may stop the walk by returning an error. Memory: two pages, or a page per
/// range worker.
Status ForEachListPage(const ListTarget& target, s3::ListParams params,
                       const std::function<Status(const s3::ListPage&)>& fn, int concurrency = 1);

/// ListObjectsV2 pages under a prefix, in order, the next one requested on the transport
/// (no thread of its own) while this one is used; a failed prefetch is retried in the
/// foreground. Memory: two pages.
class PageReader {
 public:
  /// `concurrency` > 1 (and no delimiter): the listing is a RangeLister's, pages still in
  /// key order; `last_key` ends it there (a shard's range).
  PageReader(ListTarget target, s3::ListParams params, int concurrency = 1, std::string last_key = {});
  /// Waits for a prefetch still in flight: its retries read this reader's policy and the
  /// run's stop flag. A stopped run has cancelled its transport, so the wait is short.
  ~PageReader();
  PageReader(const PageReader&) = delete;
  PageReader& operator=(const PageReader&) = delete;
  /// Reads the first page, retried: an error here means the prefix cannot be listed.
  Status Start();
  /// The next page (the first one after Start), nullptr at the end or once the target's
  /// stop flag is set; an error is a listing that failed part-way.
  Result<std::shared_ptr<s3::ListPage>> Next();

 private:
  Status PrefetchAfter(const s3::ListPage& page);
  // A listing that ends at last_key_: the page is cut after it, marked the last, and
  // nothing more is asked for. False when the page lies wholly before it.
  bool CutAtLastKey(s3::ListPage& page);
  ListTarget target_;
  ListingProgress progress_;
  s3::ListParams params_;  // continuation_token: the page being prefetched
  std::shared_ptr<s3::ListPage> pending_;  // the first page, handed out once
  std::optional<std::future<Result<std::shared_ptr<s3::ListPage>>>> next_;  // retried on the transport
  bool done_ = false;
  std::string last_key_;
  std::unique_ptr<RangeLister> ranges_;
};

/// For a folder prefix that listed nothing ("dat/"): the names beside it that are most
/// likely meant ("data/"), at most three, best first; empty when nothing is close. One
/// delimiter listing of the parent.
std::vector<std::string> NearestNames(const ListTarget& target, const std::string& prefix);

/// The next key of a keys file (one per line; a trailing CR and empty lines skipped).
bool NextKeyLine(std::istream& in, std::string* key);

/// Every unfinished multipart upload under `prefix`, page by page.
Status ForEachUploadsPage(const ListTarget& target, const std::string& prefix,
                          const std::function<Status(const s3::UploadsPage&)>& fn);

/// Aborts one multipart upload; one already gone (NoSuchUpload) counts as aborted.
Status AbortUpload(const ListTarget& target, const s3::UploadInfo& upload);

/// The page in a 2xx ListObjectsV2 answer. A 200 carrying an <Error> is that error; a
/// page cut short or garbled in transit is a retryable protocol error.
Result<s3::ListPage> PageFromBody(const http::Response& r);

}  // namespace riptide::engine
