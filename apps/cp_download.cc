#include "apps/cp_download.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "apps/run_job.h"
#include "apps/summary.h"
#include "engine/state/manifest.h"
#include "planner/key_mapping.h"

namespace riptide::app {
namespace {

namespace fs = std::filesystem;

// "s3://b/x/y" → ("s3://b/", "x/y"); "NAME:b/x/y" → ("NAME:b/", "x/y").
std::pair<std::string, std::string> SplitKey(const std::string& url) {
  const size_t start = url.rfind("s3://", 0) == 0 ? 5 : url.find(':') + 1;
  const size_t slash = url.find('/', start);
  if (slash == std::string::npos) return {url + "/", ""};
  return {url.substr(0, slash + 1), url.substr(slash + 1)};
}

// Where the files land: under `root`, or for one object at `single`.
struct Target {
  fs::path root;
  fs::path single;
};

Result<Target> ResolveTarget(const std::string& destination, const std::string& key, bool one_object,
                             bool create) {
  std::error_code ec;
  Target t;
  if (!one_object) {
    t.root = destination;
  } else if (destination.back() == '/' || fs::is_directory(destination, ec)) {
    t.root = destination;
    t.single = t.root / fs::path(key).filename();
  } else {
    t.single = destination;
    t.root = t.single.has_parent_path() ? t.single.parent_path() : fs::path(".");
  }
  if (create) fs::create_directories(t.root, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot create " + t.root.string() + ": " + ec.message());
  return t;
}

// Renames every file the run verified (the staging manifest's rows) to its final place;
// what cannot be moved counts as failed. Then the renames are made durable.
void MoveIntoPlace(const fs::path& staging, const Target& target, engine::SyncReport& report) {
  auto manifest = engine::Manifest::Open((staging / std::string(planner::kStateDirName)).string());
  if (!manifest.ok()) {
    report.fatal = manifest.error();
    return;
  }
  auto cursor = (*manifest)->Cursor();
  for (const planner::ManifestEntry* row = cursor->Current(); row; cursor->Next(), row = cursor->Current()) {
    const bool folder = !row->key.empty() && row->key.back() == '/';
    const fs::path to = !target.single.empty() ? target.single : target.root / row->path;
    std::error_code ec;
    fs::create_directories(folder ? to : to.parent_path(), ec);
    if (!ec && !folder) fs::rename(staging / row->path, to, ec);
    if (ec) {
      report.transferred -= report.transferred > 0 ? 1 : 0;
      report.failed++;
      report.failures.push_back({row->key, "downloaded and verified, but cannot be put at " + to.string() + ": " +
                                               ec.message()});
    }
  }
  const int fd = ::open(target.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::syncfs(fd);
    ::close(fd);
  }
}

}  // namespace

int RunCpDownload(engine::JobSpec spec, const s3::ConfigSources& sources, bool no_progress,
                  const GlobalOptions& global) {
  auto [head, key] = SplitKey(spec.source);
  const bool one_object = !key.empty() && key.back() != '/';
  auto target = ResolveTarget(spec.destination, key, one_object, !spec.dry_run);
  if (!target.ok()) {
    PrintFatal(target.error().message, global.json, 2);
    return 2;
  }
  spec.compare = true;  // against an empty manifest: every object named is fetched
  if (one_object) {
    spec.source = head;
    spec.keys = {key};
  }
  // The run fills a staging folder beside the final places (one file system: renames),
  // whose manifest then says what was verified. A dry run only names one (not created).
  std::string pattern = (target->root / ".riptide-cp-XXXXXX").string();
  if (!spec.dry_run && !::mkdtemp(pattern.data())) {
    PrintFatal("cannot create a staging folder in " + target->root.string() + ": " + std::strerror(errno),
               global.json, 2);
    return 2;
  }
  const fs::path staging = pattern;
  spec.destination = staging.string();
  spec.state_dir.clear();
  JobHooks hooks;
  hooks.after = [&](engine::SyncReport& report) {
    if (!spec.dry_run) MoveIntoPlace(staging, *target, report);
  };
  hooks.shown_path = [&](const std::string& planned) {
    const std::string rel = fs::path(planned).lexically_relative(staging).string();
    return (!target->single.empty() ? target->single : target->root / rel).string();
  };
  const int code = RunJobCommand(spec, sources, no_progress, global, hooks);
  std::error_code ec;
  if (!spec.dry_run) fs::remove_all(staging, ec);
  return code;
}

}  // namespace riptide::app
