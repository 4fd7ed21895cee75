#include "engine/core/part_window.h"

#include <algorithm>

namespace riptide::engine {

std::shared_ptr<PartWindow> PartWindow::Make(std::vector<size_t> parts, int width, const std::atomic<bool>& stop,
                                             StartFn start, DoneFn done) {
  return std::shared_ptr<PartWindow>(new PartWindow(std::move(parts), width, stop, std::move(start), std::move(done)));
}

PartWindow::PartWindow(std::vector<size_t> parts, int width, const std::atomic<bool>& stop, StartFn start,
                       DoneFn done)
    : parts_(std::move(parts)), width_(static_cast<size_t>(std::max(1, width))), stop_(stop),
      start_(std::move(start)), done_(std::move(done)) {}

bool PartWindow::Take(std::vector<size_t>* start) {
  // A stop cancels the parts not started yet; an object whose parts all finished stands.
  if (stop_ && !error_ && next_ < parts_.size()) error_ = MakeError(ErrorCode::kCancelled, "the run was stopped");
  const bool more = !error_ && next_ < parts_.size();
  while (more && running_ < width_ && next_ < parts_.size()) {
    start->push_back(parts_[next_++]);
    ++running_;
  }
  if (running_ > 0 || more || finished_) return false;
  finished_ = true;
  return true;
}

void PartWindow::Run(const std::vector<size_t>& start) {
  // The window stays alive while parts run: each holds it through its Finished call.
  for (size_t index : start) start_(index);
}

void PartWindow::Launch() {
  std::vector<size_t> start;
  bool done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done = Take(&start);
  }
  if (done) return Finish();
  auto self = shared_from_this();
  Run(start);
}

void PartWindow::Finish() {
  // The done callback may drop the last reference to this window: it runs from the stack.
  auto self = shared_from_this();
  DoneFn finish = std::move(done_);
  finish(error_);
}

void PartWindow::Finished(std::optional<Error> error) {
  auto self = shared_from_this();  // the last part's callback may hold the last reference
  std::vector<size_t> start;
  bool done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    if (error && !error_) error_ = std::move(error);
    done = Take(&start);
  }
  if (done) return Finish();
  Run(start);
}

}  // namespace riptide::engine
