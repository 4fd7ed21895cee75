// The stages of the sync graph, each a small functor; pipeline.cc wires them.
//   list ──► plan ──►│ fetch ──► verify ──► commit
//                    │   ▲          │ (mismatch: fetch again; a HEAD to ask)
//                    │   └──────────┘
//   └─ feeder thread ┘└── oneTBB graph ─────────────┘
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/core/budget.h"
#include "engine/core/run_shell.h"
#include "engine/state/dataset.h"
#include "engine/core/listing.h"
#include "engine/state/manifest.h"
#include "engine/state/part_journal.h"
#include "engine/state/plan_writer.h"
#include "engine/core/stats.h"
#include "engine/download/sync_options.h"
#include "engine/download/transfer.h"
#include "planner/diff.h"
#include "planner/key_mapping.h"
#include "transport/http/transport.h"
#include "transport/s3/requests.h"

namespace riptide::engine {

/// What every stage shares for one run.
struct RunContext {
  RunContext(const SyncOptions& options, std::string prefix, http::Transport& transport,
             s3::RequestFactory& requests, Dataset& dataset, Manifest& manifest, PartJournal& journal,
             Stats& stats, Budget& budget, RunShell& shell)
      : options(options), prefix(std::move(prefix)), transport(transport), requests(requests),
        dataset(dataset), manifest(manifest), journal(journal), stats(stats), budget(budget), shell(shell),
        stop(shell.stop()) {}

  const SyncOptions& options;
  std::string prefix;  // normalised
  http::Transport& transport;
  s3::RequestFactory& requests;
  Dataset& dataset;
  Manifest& manifest;
  PartJournal& journal;
  Stats& stats;
  Budget& budget;
  RunShell& shell;
  std::atomic<bool>& stop;            // set by a cancel or a fatal error
  std::atomic<bool> part_probe_unsupported{false};  // the server tells no upload part sizes
  // Ranged GETs bring no checksum: a HEAD asks for the object's. Where the first few tell
  // none (a server that stores none), no more are asked this run.
  std::atomic<int> checksum_heads{0};
  std::atomic<bool> checksum_heads_told{false};
  bool AskChecksums() const { return checksum_heads_told || checksum_heads < 8; }

  /// Runs `task` off the network thread (the graph's arena); the pipeline waits for
  /// every such task before it ends.
  std::function<void(std::function<void()>)> schedule_background;
  /// Hashes objects while they land, many side by side in the MD5 lanes.
  std::shared_ptr<HashRounds> hash_rounds;

  PlanWriter* plan_out = nullptr;  // `riptide plan --out`: fed by the plan stage

  // Written by the plan stage only, read once the graph is done.
  std::vector<planner::ManifestEntry> gone;  // rows whose keys left the bucket (--delete)
  std::unordered_set<std::string> gone_retracted;  // of those, keys listed later, out of order
  bool listing_sorted = true;                // false: the server listed out of key order
  bool listing_complete = false;             // the last page was planned

  /// The run's first fatal error wins; the run stops and the plan stage wakes.
  void Fail(Error e) {
    shell.Fail(std::move(e));
    budget.Cancel();
  }
};

/// Where the pages of objects to consider come from.
class PageSource {
 public:
  virtual ~PageSource() = default;
  /// Reads the first page. An error here (credentials, bucket, endpoint) means the run
  /// cannot work at all: nothing was attempted.
  virtual Status Start() = 0;
  /// The next page, or nullptr at the end (or on a fatal error, recorded in the context).
  virtual PagePtr Next() = 0;
};

/// Produces ListObjectsV2 pages in key order, prefetching the next while the current
/// one is planned.
class ListStage final : public PageSource {
 public:
  explicit ListStage(RunContext& ctx);
  Status Start() override;
  PagePtr Next() override;

 private:
  RunContext& ctx_;
  PageReader reader_;
};

/// --key / --keys-file: pages of HeadObject answers for the named keys, no listing.
/// Keys that do not exist are object failures (NoSuchKey); the last page is empty.
class KeyListStage final : public PageSource {
 public:
  explicit KeyListStage(RunContext& ctx);
  ~KeyListStage() override;
  Status Start() override;
  PagePtr Next() override;

 private:
  bool NextKey(std::string* key);
  Result<PagePtr> HeadChunk();
  RunContext& ctx_;
  std::unique_ptr<std::ifstream> file_;
  size_t next_index_ = 0;
  PagePtr pending_;
  bool done_ = false;
};

/// Diffs each page against the manifest and emits the transfers to make.
class PlanStage {
 public:
  explicit PlanStage(RunContext& ctx);
  /// Calls `emit` for each transfer; blocks while the in-flight budget is spent (on the
  /// feeder thread, never a graph worker), calling `flush` before it does.
  template <typename Emit, typename Flush>
  void Plan(const s3::ListPage& page, Emit&& emit, Flush&& flush);

 private:
  // Fills decisions_ (and, with --checksum, local_changed_) for one page.
  void Decide(const s3::ListPage& page);
  TransferPtr ToTransfer(size_t i);
  bool LocalCopyDrifted(size_t i);
  TransferPtr MakeTransfer(const planner::Decision& d, planner::KeyMapping m);
  int Slots(const s3::ObjectInfo& object) const;
  // The page's objects to fetch that are ≥ kWideAlone and proved by one MD5 stream.
  int huge_in_view_ = 0;
  // A key below an object's key ("a/b" after "a"): the reason it is refused, or "".
  std::string FolderConflict(const planner::Decision& d, const planner::KeyMapping& m);
  // Creates the temp file here, on this one serial thread: parallel creates in the
  // same folders spin on the folder's lock and starve the network of CPU.
  void PrepareTemp(const TransferPtr& t);
  RunContext& ctx_;
  std::unique_ptr<planner::ManifestCursor> cursor_;
  planner::Differ differ_;
  std::vector<planner::Decision> decisions_;
  std::vector<char> local_changed_;  // --checksum: the file's XXH3 differs (per decision)
  // Keys mirrored as files that are prefixes of the keys being planned (sorted listings
  // keep every key that starts with "a" together): at most one per key length.
  struct FileKey {
    std::string key;
    std::string path;
    enum class State { kFile, kUnchecked, kFolder } state;  // kUnchecked: new this run
  };
  std::vector<FileKey> file_keys_;
  // On a file system that folds case or normalises names: each path and folder taken so
  // far, by the form it has there.
  std::string NameConflict(const std::string& path);
  std::unordered_map<std::string, std::string> name_forms_;
};

template <typename Emit, typename Flush>
void PlanStage::Plan(const s3::ListPage& page, Emit&& emit, Flush&& flush) {
  Decide(page);
  for (size_t i = 0; i < decisions_.size(); ++i) {
    if (ctx_.stop) return;
    if (TransferPtr t = ToTransfer(i)) {
      ctx_.stats.bytes_planned += t->object.size;
      if (ctx_.options.dry_run) {  // counted and told, never fetched
        ctx_.stats.Planned("download", "s3://" + ctx_.options.bucket + "/" + t->object.key,
                           ctx_.options.dataset_dir + "/" + t->path);
        continue;
      }
      bool acquired;
      {
        ScopedTimer timer(ctx_.stats.ns_budget_wait);
        acquired = ctx_.budget.TryAcquire(t->slots);
        if (!acquired) {
          flush();  // what was admitted goes first: its completions free the budget
          acquired = ctx_.budget.Acquire(t->slots);
        }
      }
      if (!acquired) return;
      PrepareTemp(t);
      emit(std::move(t));
    }
  }
}

/// Starts the GET of a transfer on the transport; `done` is called (on the transport's
/// thread) once it has succeeded or failed for good.
void StartFetch(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> done);

/// Checks what was fetched; false means "back to the fetch stage": a mismatch with
/// attempts left, or a question for the server (t.refresh, t.part_sizes).
bool Verify(RunContext& ctx, Transfer& t);

/// The object was replaced mid-download: a HEAD (on the transport) learns what it is now;
/// `next` continues with the refreshed transfer, or with t->error set.
void RefreshObject(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> next);

/// HEAD ?partNumber=i for every part of a multipart upload whose parts were uneven;
/// fills t->exact_part_lengths (left empty when a HEAD failed), then `done`.
void AskPartSizes(RunContext& ctx, TransferPtr t, std::function<void(TransferPtr)> done);

/// Makes batches of renamed files durable (syncfs) and then records them in the
/// manifest, on its own thread, so renames never wait for the disk.
class Syncer {
 public:
  explicit Syncer(RunContext& ctx);
  ~Syncer();
  /// Queues a batch; waits only when two batches are already waiting.
  void Submit(std::vector<ObjectRow> rows);
  /// Waits until every batch is durable and recorded; the first error, if any.
  Status Drain();

 private:
  void Loop();
  RunContext& ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<ObjectRow>> queue_;  // guarded by mu_
  bool busy_ = false;                         // guarded by mu_
  bool stopping_ = false;                     // guarded by mu_
  std::optional<Error> error_;                // guarded by mu_
  std::thread thread_;
};

/// Renames verified files into place and hands them to the Syncer in batches.
class CommitStage {
 public:
  explicit CommitStage(RunContext& ctx) : ctx_(ctx), syncer_(ctx) {}
  void Commit(const TransferPtr& t);
  /// Hands over what is pending and waits until all of it is recorded (end of run).
  Status Finish();

 private:
  void HandOver();
  RunContext& ctx_;
  Syncer syncer_;
  std::vector<ObjectRow> pending_;
  std::chrono::steady_clock::time_point last_handover_ = std::chrono::steady_clock::now();
};

}  // namespace riptide::engine
