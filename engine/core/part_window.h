// One object's parts as a sliding window: at most `width` requests at once, the next
// part started as one finishes, the first error kept. Downloads (ranged GETs into the
// temp file) and copies (UploadPart, UploadPartCopy, GET → UploadPart) both run their
// parts through it; what a part does is theirs, when it runs is the window's.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

class PartWindow : public std::enable_shared_from_this<PartWindow> {
 public:
  /// Starts part `index`; the part must call Finished exactly once, from any thread.
  using StartFn = std::function<void(size_t index)>;
  /// Called once, when no part runs any more: after the last part, or after the parts
  /// still running when one failed (or the run stopped) have finished. The error is the
  /// first one, or kCancelled when the run stopped.
  using DoneFn = std::function<void(std::optional<Error>)>;

  /// `parts`: the indexes to run, in order (resumed parts left out).
  static std::shared_ptr<PartWindow> Make(std::vector<size_t> parts, int width, const std::atomic<bool>& stop,
                                          StartFn start, DoneFn done);

  /// Starts the first `width` parts (or calls done at once when there are none).
  void Launch();
  /// One part has succeeded (nullopt) or failed for good.
  void Finished(std::optional<Error> error);

 private:
  PartWindow(std::vector<size_t> parts, int width, const std::atomic<bool>& stop, StartFn start, DoneFn done);
  // Takes the parts there is room for now; true when the window is done instead.
  bool Take(std::vector<size_t>* start);
  void Run(const std::vector<size_t>& start);
  void Finish();

  const std::vector<size_t> parts_;
  const size_t width_;
  const std::atomic<bool>& stop_;
  StartFn start_;
  DoneFn done_;
  std::mutex mu_;  // guards what follows
  size_t next_ = 0;
  size_t running_ = 0;
  bool finished_ = false;
  std::optional<Error> error_;
};

}  // namespace riptide::engine
