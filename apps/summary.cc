#include "apps/summary.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/format.h"

namespace riptide::app {
int ExitCodeFor(const engine::SyncReport& report, int signal_number) {
  if (report.interrupted) return signal_number == 15 ? 143 : 130;
  if (report.fatal || report.failed > 0) return 1;
  return 0;
}

namespace {

nlohmann::json SummaryJson(const engine::SyncReport& r, int exit_code, double mbps) {
  nlohmann::json j;
  j["listed"] = r.listed;
  j["transferred"] = r.transferred;
  j["skipped"] = r.skipped;
  j["failed"] = r.failed;
  j["refused"] = r.refused;
  j["not_in_bucket"] = r.gone;
  j["deleted"] = r.deleted;
  j["excluded"] = r.excluded;
  if (r.dry_run) {
    j["dry_run"] = true;
    j["would_transfer"] = r.would_transfer;
    j["would_transfer_bytes"] = r.would_transfer_bytes;
    j["would_transfer_new"] = r.would_transfer_new;
    j["would_delete"] = r.would_delete;
  }
  j["drifted"] = r.drifted;
  j["size_verified_only"] = r.size_verified_only;
  j["checksum_verified"] = r.checksum_verified;  // proved by their own CRC64NVME/CRC32C/… instead of MD5
  j["retries"] = r.retries;
  j["throttled"] = r.throttled;  // of the retries, answers to slow down (503 SlowDown, 429)
  j["requests"] = r.requests;
  // Requests allowed in flight at the end; with --concurrency auto, as found while running.
  j["concurrency"] = r.concurrency;
  if (r.concurrency_auto) {
    j["concurrency_auto"] = true;
    j["concurrency_peak"] = r.concurrency_peak;
  }
  j["bytes"] = r.bytes;
  j["bytes_resumed"] = r.bytes_resumed;
  j["bytes_hashed_while_landing"] = r.bytes_hashed_landing;  // in MD5 rounds beside other objects
  j["seconds"] = r.seconds;
  j["mb_per_s"] = mbps;
  j["exit_code"] = exit_code;
  j["interrupted"] = r.interrupted;
  j["failures"] = nlohmann::json::array();
  for (const auto& f : r.failures) j["failures"].push_back({{"key", f.key}, {"reason", f.reason}});
  if (r.fatal) j["error"] = r.fatal->ToString();
  return j;
}

// `plan` and --dry-run: what a run would do.
void PrintPlanLine(const engine::SyncReport& r) {
  auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf("plan: listed %llu, would transfer %llu (%s: %llu new, %llu modified), unchanged %llu, "
              "excluded %llu, ",
              n(r.listed), n(r.would_transfer), HumanBytes(static_cast<double>(r.would_transfer_bytes)).c_str(),
              n(r.would_transfer_new), n(r.would_transfer - r.would_transfer_new), n(r.skipped), n(r.excluded));
  if (r.would_delete > 0 || r.gone == 0) {
    std::printf("would delete %llu\n", n(r.would_delete));
  } else {
    std::printf("%llu %s (kept; --delete removes them)\n", n(r.gone),
                r.to_bucket ? "only at the destination" : "local only");
  }
}

// What proved the objects, where it was not every byte's MD5: ", 30 proved by their own
// checksum, 2 size-verified only".
std::string Proofs(const engine::SyncReport& r) {
  std::string out;
  if (r.checksum_verified) out += ", " + std::to_string(r.checksum_verified) + " proved by their own checksum";
  if (r.size_verified_only) out += ", " + std::to_string(r.size_verified_only) + " size-verified only";
  return out;
}

}  // namespace

void PrintSummary(const engine::SyncReport& r, bool json, int exit_code) {
  const double mbps = r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0;
  if (json) {
    std::printf("%s\n", DumpJson(SummaryJson(r, exit_code, mbps)).c_str());
    return;
  }
  for (const auto& f : r.failures) {
    std::fprintf(stderr, "failed: %s: %s\n", DumpJson(nlohmann::json(f.key)).c_str(), f.reason.c_str());
  }
  if (r.failed > r.failures.size()) {
    std::fprintf(stderr, "failed: … and %llu more\n",
                 static_cast<unsigned long long>(r.failed - r.failures.size()));
  }
  if (r.fatal) std::fprintf(stderr, "riptide: stopped early: %s\n", r.fatal->ToString().c_str());
  if (r.interrupted) std::fprintf(stderr, "riptide: interrupted; the next run resumes\n");
  if (r.dry_run) {
    PrintPlanLine(r);
    std::fflush(stdout);
    return;
  }
  const std::string source_word = r.to_bucket ? "source" : "bucket";
  const std::string extra_word = r.to_bucket ? "only at the destination" : "local only";
  std::printf(
      "listed %llu, transferred %llu, skipped %llu, failed %llu, %s in %.2f s (%s)%s%s\n",
      static_cast<unsigned long long>(r.listed), static_cast<unsigned long long>(r.transferred),
      static_cast<unsigned long long>(r.skipped), static_cast<unsigned long long>(r.failed),
      HumanBytes(static_cast<double>(r.bytes)).c_str(), r.seconds, HumanRate(r.bytes, r.seconds).c_str(),
      Proofs(r).c_str(),
      r.deleted   ? (", " + std::to_string(r.deleted) + " deleted (not in the " + source_word + ")").c_str()
      : r.gone    ? (", " + std::to_string(r.gone) + " " + extra_word + " (not in the " + source_word +
                  "; --delete removes them)").c_str()
                  : "");
  std::fflush(stdout);
}

void PrintProgress(const engine::Stats& s, double seconds) {
  // Downloads receive every byte; server-side copies receive none but land them all.
  const uint64_t bytes = std::max(s.bytes_received.load(), s.bytes_committed.load());
  std::string totals = HumanBytes(static_cast<double>(bytes));
  // Once everything to transfer is planned: the share done and, at the pace so far, the time left.
  const uint64_t planned_bytes = s.bytes_planned.load(), resumed = s.bytes_resumed.load();
  if (s.listing_done && planned_bytes > 0) {
    const uint64_t done = std::min(planned_bytes, s.bytes_committed.load() + resumed);
    totals += " of " + HumanBytes(static_cast<double>(planned_bytes)) + " (" +
              std::to_string(done * 100 / planned_bytes) + "%)";
    const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
    if (rate > 0 && done < planned_bytes) {
      const auto left = static_cast<long long>(static_cast<double>(planned_bytes - done) / rate + 0.5);
      char eta[32];
      std::snprintf(eta, sizeof eta, "  ETA %lld:%02lld", left / 60, left % 60);
      totals += eta;
    }
  }
  // --concurrency auto: the number in flight as the tuner moves it.
  const std::string in_flight = s.concurrency_auto ? "  " + std::to_string(s.concurrency.load()) + " in flight" : "";
  std::fprintf(stderr, "\r\033[K  listed %llu  done %llu/%llu  %s  %s%s  failed %llu",
               static_cast<unsigned long long>(s.listed.load()),
               static_cast<unsigned long long>(s.transferred.load()),
               static_cast<unsigned long long>(s.planned.load()), totals.c_str(), HumanRate(bytes, seconds).c_str(),
               in_flight.c_str(), static_cast<unsigned long long>(s.failed.load()));
  std::fflush(stderr);
}

void EndProgress() { std::fprintf(stderr, "\r\033[K"); }

void PrintFatal(const std::string& message, bool json, int exit_code) {
  if (json) {
    std::printf("%s\n", DumpJson({{"error", message}, {"exit_code", exit_code}}).c_str());
  }
  std::fprintf(stderr, "riptide: %s\n", message.c_str());
}

}  // namespace riptide::app
