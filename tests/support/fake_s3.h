// An in-memory S3 object store behind the http::Transport seam, for pipeline tests that
// need no server: ListObjectsV2 pages, whole and ranged GETs, HEAD (with partNumber),
// PUT, multipart uploads and DeleteObjects. Requests complete on the store's own thread,
// as a real transport's do. A per-key fault script makes the failures tests need:
// 503 SlowDown, connection resets, short bodies, flipped bytes, stalls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/http/transport.h"

namespace riptide::testing {

/// One object as the store keeps it.
struct FakeObject {
  std::string data;
  std::string etag;                 // plain MD5, or md5-of-md5s "-N" for multipart uploads
  std::vector<uint64_t> part_sizes;  // multipart uploads: each part's size (HEAD ?partNumber)
  int64_t last_modified_s = 0;  // set to the time of the PUT
  std::map<std::string, std::string> headers;  // extra response headers (x-amz-checksum-*)
};

/// What goes wrong with the next `times` GETs (body requests) of one key.
struct Fault {
  enum class Kind {
    kSlowDown,   // 503 SlowDown with an S3 error body
    kReset,      // the connection fails after half the body (a network error)
    kShortBody,  // the body ends early but the exchange "completes"
    kFlipByte,   // one byte of the body is changed, the exchange completes normally
    kStall,      // no answer until the transport is cancelled
    kNotFound,   // 404 NoSuchKey
    kReplace,    // the object is replaced by `replacement` just before the GET is answered
  };
  Fault() = default;
  Fault(Kind kind, int times = 1, std::string replacement = {})
      : kind(kind), times(times), replacement(std::move(replacement)) {}

  Kind kind = Kind::kSlowDown;
  int times = 1;  // requests affected; -1 for every one
  std::string replacement;  // kReplace: the new content (a plain-MD5 object)
};

class FakeS3 final : public http::Transport {
 public:
  FakeS3();
  ~FakeS3() override;  // fails what is still queued or stalled with kCancelled

  /// The endpoint to point a client at (path-style addressing).
  static constexpr const char* kEndpoint = "http://127.0.0.1:9";

  void CreateBucket(const std::string& bucket);
  /// Stores a whole object with a plain MD5 ETag.
  void Put(const std::string& bucket, const std::string& key, std::string data);
  /// Stores an object as a multipart upload of `part_size` parts would (md5-N ETag).
  void PutMultipart(const std::string& bucket, const std::string& key, std::string data, uint64_t part_size);
  /// Stores an object as a multipart upload of exactly these parts (sizes may differ).
  void PutParts(const std::string& bucket, const std::string& key, const std::vector<std::string>& parts);
  void Delete(const std::string& bucket, const std::string& key);
  /// A copy of the object, if any.
  std::shared_ptr<const FakeObject> Get(const std::string& bucket, const std::string& key) const;
  std::vector<std::string> Keys(const std::string& bucket) const;
  /// Adds a response header to an object (an S3 additional checksum, say).
  void SetHeader(const std::string& bucket, const std::string& key, const std::string& name, std::string value);

  /// Scripts a fault for GETs of `key` (any bucket).
  void Inject(const std::string& key, Fault fault);
  /// Forgets every scripted fault.
  void ClearFaults();

  /// Requests seen, by method and key ("GET a/b", "HEAD a/b", "LIST"), for assertions.
  std::vector<std::string> Log() const;
  /// Body bytes served for `key`, over all GETs.
  uint64_t BytesServed(const std::string& key) const;
  /// Multipart uploads created and neither completed nor aborted.
  size_t OpenUploads() const;

  void Submit(http::Request request, std::shared_ptr<http::ResponseHandler> handler,
              std::chrono::milliseconds delay) override;
  void CancelAll() override;
  uint64_t requests_started() const override { return started_; }
  using Transport::Submit;

  /// A factory for JobHost: each transport it makes is a connection to this store with
  /// its own CancelAll and request count (the store must outlive every job).
  http::TransportFactory Factory();

  struct Scope;  // one connection's cancel flag and requests in flight
  struct Answer;
  /// Queues a request for `scope` (the connections' Submit).
  void SubmitFor(std::shared_ptr<Scope> scope, http::Request request, std::shared_ptr<http::ResponseHandler> handler,
                 std::chrono::milliseconds delay);

 private:
  struct Pending;
  struct Upload {
    std::string bucket, key;
    std::map<int, std::string> parts;
  };
  void Loop();
  // The next request due, or a stalled one whose connection was cancelled; null: none yet.
  std::unique_ptr<Pending> NextDue();
  void Serve(std::unique_ptr<Pending> p);
  Answer Route(const http::Request& r);
  Answer GetOrHead(const std::string& bucket, const std::string& key, const http::Request& r, bool head);
  Answer List(const std::string& bucket, const std::map<std::string, std::string>& q);
  Answer Post(const std::string& bucket, const std::string& key, const http::Request& r,
              const std::map<std::string, std::string>& q);
  Answer PutRequest(const std::string& bucket, const std::string& key, const http::Request& r,
                    const std::map<std::string, std::string>& q);
  bool TakeFault(const std::string& key, Fault* out);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::map<std::string, std::shared_ptr<FakeObject>>> buckets_;  // guarded by mu_
  std::map<std::string, std::deque<Fault>> faults_;                                    // guarded by mu_
  std::map<std::string, Upload> uploads_;                                              // guarded by mu_
  std::map<std::string, uint64_t> served_;                                             // guarded by mu_
  std::vector<std::string> log_;                                                       // guarded by mu_
  std::deque<std::unique_ptr<Pending>> queue_;                                         // guarded by mu_
  std::vector<std::unique_ptr<Pending>> stalled_;                                      // guarded by mu_
  bool stopping_ = false;                                                              // guarded by mu_
  int next_upload_ = 1;                                                                // guarded by mu_
  std::shared_ptr<Scope> own_;  // Submit on the store itself
  std::atomic<uint64_t> started_{0};
  std::thread thread_;
};

}  // namespace riptide::testing
