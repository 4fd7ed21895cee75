// `riptide plan --out DIR`: what a sync would do, as lists a reviewer (or a script) can
// read before anything happens. Written as the plan is made: memory stays O(page).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_set>

#include "transport/result.h"

namespace riptide::engine {

class PlanWriter {
 public:
  enum class Kind { kNew, kModified, kDelete };

  /// Creates DIR (if missing) and DIR/new.txt, modified.txt, delete.txt.
  static Result<std::unique_ptr<PlanWriter>> Open(const std::string& dir);
  ~PlanWriter();

  /// One key per line in the list of `kind`. `drift`: modified because the local copy
  /// changed, not the object. Called from the plan thread only.
  void Add(Kind kind, const std::string& key, uint64_t size, bool drift = false);
  /// Takes back a key Add put in the list of `kind` (a server listing out of order named
  /// it after all); Finish leaves it out of the file.
  void Retract(Kind kind, const std::string& key, uint64_t size);

  struct Summary {
    std::string source;       // s3://bucket/prefix/
    std::string destination;  // the dataset directory
    bool deletes_enabled = false;  // --delete was given: delete.txt will be deleted
    bool complete = false;         // the listing was read to its end
    uint64_t unchanged = 0, excluded = 0, refused = 0, failed = 0;
  };
  /// Closes the lists and writes plan.json (counts and bytes per list, the summary).
  Status Finish(const Summary& summary);

 private:
  struct List {
    std::FILE* file = nullptr;
    uint64_t objects = 0;
    uint64_t bytes = 0;
    std::unordered_set<std::string> retracted;
  };
  Status DropRetracted(int index);
  explicit PlanWriter(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  List lists_[3];
  uint64_t drifted_ = 0;
  Status error_ = OkStatus();  // the first write error
};

}  // namespace riptide::engine
