#include "engine/state/plan_writer.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace riptide::engine {
namespace {

constexpr const char* kNames[] = {"new.txt", "modified.txt", "delete.txt"};

Error WriteError(const std::string& path, int err) {
  Error e = MakeError(ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(err));
  e.os_errno = err;
  return e;
}

}  // namespace

Result<std::unique_ptr<PlanWriter>> PlanWriter::Open(const std::string& dir) {
  std::error_code ec;  // DIR and any folder above it that is missing, as mkdir -p
  std::filesystem::create_directories(dir, ec);
  if (ec) return WriteError(dir, ec.value());
  std::unique_ptr<PlanWriter> w(new PlanWriter(dir));
  for (int i = 0; i < 3; ++i) {
    const std::string path = dir + "/" + kNames[i];
    w->lists_[i].file = std::fopen(path.c_str(), "w");
    if (!w->lists_[i].file) return WriteError(path, errno);
  }
  return w;
}

PlanWriter::~PlanWriter() {
  for (auto& l : lists_) {
    if (l.file) std::fclose(l.file);
  }
}

void PlanWriter::Add(Kind kind, const std::string& key, uint64_t size, bool drift) {
  List& l = lists_[static_cast<int>(kind)];
  l.objects++;
  l.bytes += size;
  if (drift) drifted_++;
  // Keys that would be written hold no newline: MapKey refuses control characters.
  std::fwrite(key.data(), 1, key.size(), l.file);
  std::fputc('\n', l.file);
}

void PlanWriter::Retract(Kind kind, const std::string& key, uint64_t size) {
  List& l = lists_[static_cast<int>(kind)];
  if (!l.retracted.insert(key).second) return;
  l.objects--;
  l.bytes -= size;
}

// Rewrites a closed list without its retracted keys (rare: a server listing out of order).
Status PlanWriter::DropRetracted(int index) {
  List& l = lists_[index];
  if (l.retracted.empty()) return OkStatus();
  const std::string path = dir_ + "/" + kNames[index], temp = path + ".tmp";
  std::ifstream in(path);
  std::ofstream out(temp, std::ios::trunc);
  for (std::string line; std::getline(in, line);) {
    if (!l.retracted.count(line)) out << line << '\n';
  }
  out.flush();
  if (!out || std::rename(temp.c_str(), path.c_str()) != 0) return WriteError(path, errno ? errno : EIO);
  return OkStatus();
}

Status PlanWriter::Finish(const Summary& summary) {
  for (int i = 0; i < 3; ++i) {
    List& l = lists_[i];
    const bool failed = std::ferror(l.file) != 0;
    const int err = errno;
    if (std::fclose(l.file) != 0 || failed) {
      l.file = nullptr;
      return WriteError(dir_ + "/" + kNames[i], err ? err : EIO);
    }
    l.file = nullptr;
    if (Status st = DropRetracted(i); !st.ok()) return st;
  }
  auto list = [](const List& l) { return nlohmann::json{{"objects", l.objects}, {"bytes", l.bytes}}; };
  nlohmann::json j;
  j["source"] = summary.source;
  j["destination"] = summary.destination;
  j["complete"] = summary.complete;
  j["new"] = list(lists_[0]);
  j["modified"] = list(lists_[1]);
  j["modified"]["local_drift"] = drifted_;
  j["delete"] = list(lists_[2]);
  j["delete"]["enabled"] = summary.deletes_enabled;
  j["unchanged"] = summary.unchanged;
  j["excluded"] = summary.excluded;
  j["refused"] = summary.refused;
  j["failed"] = summary.failed;
  j["created_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const std::string path = dir_ + "/plan.json";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return WriteError(path, errno);
  const std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !wrote) return WriteError(path, err ? err : EIO);
  return OkStatus();
}

}  // namespace riptide::engine
