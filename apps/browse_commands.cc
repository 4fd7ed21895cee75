#include "apps/browse_commands.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/format.h"
#include "apps/summary.h"
#include "apps/tree_view.h"
#include "engine/core/listing.h"
#include "planner/filter.h"
#include "planner/key_mapping.h"
#include "transport/http/fetch.h"
#include "transport/s3/config.h"
#include "transport/s3/uri.h"
#include "transport/s3/xml.h"

namespace riptide::app {
namespace {

// A JSON array written element by element, so a listing of millions stays O(page).
class JsonArrayWriter {
 public:
  JsonArrayWriter() { std::fputs("[", stdout); }
  void Add(const nlohmann::json& j) {
    std::fputs(first_ ? "\n" : ",\n", stdout);
    std::fputs(DumpJson(j).c_str(), stdout);
    first_ = false;
  }
  void End() { std::fputs(first_ ? "]\n" : "\n]\n", stdout); }

 private:
  bool first_ = true;
};

}  // namespace

// What every browse command needs once its arguments are checked.
struct BrowseCommand::Target {
  std::string bucket;
  std::string prefix;  // normalised
  std::unique_ptr<http::Transport> transport;
  std::unique_ptr<s3::RequestFactory> requests;
  engine::RetryPolicy retry;

  engine::ListTarget Lister() { return engine::ListTarget{*transport, *requests, bucket, retry}; }
  std::string Url() const { return "s3://" + bucket + "/" + prefix; }
};

BrowseCommand::BrowseCommand(CLI::App& app, GlobalOptions& global, Kind kind) : global_(global), kind_(kind) {
  const char* dest_help = "DIR: the dataset directory the mapping is for";
  switch (kind) {
    case Kind::kLs:
      cmd_ = app.add_subcommand("ls", "List the objects (and, without --recursive, the folders) under "
                                      "s3://BUCKET[/PREFIX]; with no SRC, the buckets");
      cmd_->add_flag("-r,--recursive", recursive_, "every object under the prefix, not just one level");
      break;
    case Kind::kTree:
      cmd_ = app.add_subcommand("tree",
                                "Show s3://BUCKET[/PREFIX] as a tree: each folder with the count and size of the "
                                "objects under it");
      cmd_->add_option("--depth", depth_,
                       "levels to show (deeper objects are counted in their folder; a large --depth shows all)")
          ->check(CLI::Range(0, 4096))
          ->capture_default_str();
      break;
    case Kind::kMap:
      cmd_ = app.add_subcommand("map",
                                "Show where sync would put each object: KEY<TAB>PATH, refused keys with the reason");
      break;
  }
  cmd_->add_option("source", source_,
                   "s3://BUCKET[/PREFIX] or REMOTE:BUCKET[/PREFIX] (with no arguments: COS_BUCKET_NAME and COS_PREFIX)");
  if (kind == Kind::kMap) {
    cmd_->add_option("destination", destination_, dest_help);
    AddSelectionFlags(cmd_, selection_);
  }
  cmd_->add_option("--page-size", page_size_, "keys per listing request (max-keys)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  ListConcurrencyOption(cmd_, list_concurrency_);
  client_.Add(cmd_);
  AddGlobalFlags(cmd_, global);
}

int BrowseCommand::Refuse(const std::string& message, bool json_started) {
  // Once a JSON array is on stdout, the error goes to stderr only.
  PrintFatal(message, global_.json && !json_started, 2);
  return 2;
}

int BrowseCommand::Run() {
  auto fail = [&](const std::string& msg) { return Refuse(msg); };
  s3::ConfigSources sources = s3::LoadConfigSources();
  // `riptide ls` alone, as `aws s3 ls`: the buckets (unless COS_* name a job).
  if (source_.empty() && kind_ == Kind::kLs) {
    auto cos = sources.env.find("COS_BUCKET_NAME");
    if (cos == sources.env.end() || cos->second.empty()) return Buckets(sources);
  }
  if (source_.empty()) {
    Status st = TakeCosJob(sources.env, &source_, kind_ == Kind::kMap ? &destination_ : nullptr, &selection_);
    if (!st.ok()) return fail(st.error().message);
  }
  if (kind_ == Kind::kMap && destination_.empty()) return fail("map needs SRC and DST (or neither: COS_* and DATASET_DIR)");
  engine::ClientResolver resolver = client_.Resolver(sources, global_.runtime->Host().transports);
  if (Status st = resolver.UseRemote(&source_); !st.ok()) return fail(st.error().message);
  auto url = s3::ParseS3Url(source_);
  if (!url.ok()) return fail(url.error().message);
  Target t;
  t.bucket = url->bucket;
  t.prefix = planner::NormalizePrefix(url->prefix);
  // Mapping a key list is pure: it needs neither credentials nor the server.
  if (kind_ != Kind::kMap || !selection_.key_list()) {
    auto client = resolver.Client();
    if (!client.ok()) return fail(client.error().message);
    t.transport = global_.runtime->Host().transports(resolver.Transport(std::max(8, list_concurrency_)));
    t.requests = std::make_unique<s3::RequestFactory>(std::move(*client));
    t.retry = resolver.Retry();
  }
  switch (kind_) {
    case Kind::kLs: return Ls(t);
    case Kind::kTree: return Tree(t);
    case Kind::kMap: return Map(t);
  }
  return 2;
}

int BrowseCommand::Buckets(const s3::ConfigSources& sources) {
  engine::ClientResolver resolver = client_.Resolver(sources, global_.runtime->Host().transports);
  auto client = resolver.Client();
  if (!client.ok()) return Refuse(client.error().message);
  auto transport = global_.runtime->Host().transports(resolver.Transport(2));
  s3::RequestFactory requests(std::move(*client));
  auto answer = engine::CallAndWait(*transport, engine::RetryScope{resolver.Retry()},
                                    [&] { return requests.ListBuckets(); }, nullptr);
  auto buckets = answer.ok() ? s3::ParseListBuckets(answer->body)
                             : Result<std::vector<std::pair<std::string, std::string>>>(answer.error());
  if (!buckets.ok()) return Refuse("cannot list the buckets: " + buckets.error().ToString());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, created] : *buckets) {
    if (global_.json) {
      list.push_back({{"bucket", name}, {"created", created}});
    } else {
      std::printf("%-24s  s3://%s/\n", created.c_str(), Printable(name).c_str());
    }
  }
  if (global_.json) std::printf("%s\n", DumpJson(list).c_str());
  return 0;
}

int BrowseCommand::Ls(Target& t) {
  s3::ListParams params;
  params.prefix = t.prefix;
  params.max_keys = page_size_;
  if (!recursive_) params.delimiter = "/";
  // The array opens with the first page, so a bucket that cannot be listed gets a
  // JSON error document instead.
  std::optional<JsonArrayWriter> json;
  uint64_t objects = 0, bytes = 0;
  Status st = engine::ForEachListPage(t.Lister(), params, [&](const s3::ListPage& page) -> Status {
    if (global_.json && !json) json.emplace();
    // A page holds folders and objects each in key order; print them merged.
    size_t f = 0, o = 0;
    while (f < page.common_prefixes.size() || o < page.objects.size()) {
      const bool folder = o == page.objects.size() ||
                          (f < page.common_prefixes.size() && page.common_prefixes[f] < page.objects[o].key);
      if (folder) {
        const std::string& p = page.common_prefixes[f++];
        if (json) {
          json->Add({{"prefix", p}});
        } else {
          std::printf("%30s %s\n", "PRE", Printable(p.substr(t.prefix.size())).c_str());
        }
        continue;
      }
      const s3::ObjectInfo& obj = page.objects[o++];
      objects++;
      bytes += obj.size;
      if (json) {
        json->Add({{"key", obj.key}, {"size", obj.size}, {"etag", obj.etag},
                   {"last_modified", UtcTime(obj.last_modified_ms)}});
      } else {
        const std::string name = recursive_ ? obj.key : obj.key.substr(t.prefix.size());
        std::printf("%s %10llu %s\n", UtcTime(obj.last_modified_ms).c_str(),
                    static_cast<unsigned long long>(obj.size), Printable(name).c_str());
      }
    }
    return OkStatus();
  }, list_concurrency_);
  if (!st.ok()) {
    if (json) json->End();
    return Refuse("cannot list " + t.Url() + ": " + st.error().ToString(), json.has_value());
  }
  if (global_.json) {
    if (!json) json.emplace();
    json->End();
  } else if (recursive_) {
    std::printf("%llu objects, %s\n", static_cast<unsigned long long>(objects),
                HumanBytes(static_cast<double>(bytes)).c_str());
  }
  return 0;
}

int BrowseCommand::Tree(Target& t) {
  TreeView tree(depth_);
  s3::ListParams params;
  params.prefix = t.prefix;
  params.max_keys = page_size_;
  Status st = engine::ForEachListPage(t.Lister(), params, [&](const s3::ListPage& page) -> Status {
    for (const auto& obj : page.objects) {
      if (obj.key.size() >= t.prefix.size()) tree.Add(std::string_view(obj.key).substr(t.prefix.size()), obj.size);
    }
    return OkStatus();
  }, list_concurrency_);
  if (!st.ok()) return Refuse("cannot list " + t.Url() + ": " + st.error().ToString());
  std::fputs((global_.json ? tree.Json(t.Url()) : tree.Render(t.Url())).c_str(), stdout);
  return 0;
}

namespace {

// One key's mapping on stdout: an element of the JSON array, or KEY<TAB>PATH.
void PrintMapping(const std::string& key, const planner::KeyMapping& m, const std::string& path,
                  JsonArrayWriter* json) {
  const bool refused = m.kind == planner::KeyMapping::Kind::kRefused;
  if (json) {
    nlohmann::json j{{"key", key}};
    if (refused) {
      j["refused"] = m.reason;
    } else {
      j["path"] = path;
      j["folder"] = m.kind == planner::KeyMapping::Kind::kFolder;
    }
    json->Add(j);
  } else if (refused) {
    // The key as JSON: a hostile key must not drive the terminal.
    std::printf("%s\tREFUSED: %s\n", DumpJson(key).c_str(), m.reason.c_str());
  } else {
    std::printf("%s\t%s\n", Printable(key).c_str(), Printable(path).c_str());
  }
}

}  // namespace

int BrowseCommand::Map(Target& t) {
  planner::KeyFilter filter;
  for (const auto& [include, pattern] : selection_.filters) filter.Add(include, pattern);
  if (Status st = engine::CheckKeyListAgainstPrefix(selection_.key_list(), t.prefix); !st.ok()) {
    return Refuse(st.error().message);
  }
  const bool key_list = selection_.key_list();
  std::string dir = destination_;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (!selection_.keys_file.empty() && ::access(selection_.keys_file.c_str(), R_OK) != 0) {
    return Refuse("cannot read --keys-file " + selection_.keys_file);
  }
  uint64_t mapped = 0, refused = 0, excluded = 0;
  std::optional<JsonArrayWriter> json;
  if (global_.json) json.emplace();
  auto one = [&](const std::string& key) {
    if (!filter.empty() && !filter.Included(std::string_view(key).substr(t.prefix.size()))) {
      excluded++;
      return;
    }
    planner::KeyMapping m = planner::MapKey(key, t.prefix);
    const std::string path = m.kind == planner::KeyMapping::Kind::kRefused ? "" : dir + "/" + m.path;
    if (m.kind == planner::KeyMapping::Kind::kRefused) {
      refused++;
    } else {
      mapped++;
    }
    PrintMapping(key, m, path, json ? &*json : nullptr);
  };
  if (key_list) {
    for (const auto& k : selection_.keys) one(k);
    if (!selection_.keys_file.empty()) {
      std::ifstream in(selection_.keys_file);
      for (std::string k; engine::NextKeyLine(in, &k);) one(k);
    }
  } else {
    s3::ListParams params;
    params.prefix = t.prefix;
    params.max_keys = page_size_;
    Status st = engine::ForEachListPage(t.Lister(), params, [&](const s3::ListPage& page) -> Status {
      for (const auto& obj : page.objects) one(obj.key);
      return OkStatus();
    }, list_concurrency_);
    if (!st.ok()) {
      if (json) json->End();
      return Refuse("cannot list " + t.Url() + ": " + st.error().ToString(), json.has_value());
    }
  }
  if (json) {
    json->End();
  } else {
    std::fprintf(stderr, "%llu mapped, %llu refused, %llu excluded\n", static_cast<unsigned long long>(mapped),
                 static_cast<unsigned long long>(refused), static_cast<unsigned long long>(excluded));
  }
  return 0;
}

}  // namespace riptide::app
