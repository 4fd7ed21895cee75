// --key / --keys-file: pages made of HEADs of the named keys, no listing.
#include <fstream>

#include "engine/core/listing.h"
#include "engine/download/stages.h"
#include "engine/core/head_keys.h"
#include "transport/strings.h"

namespace riptide::engine {

KeyListStage::KeyListStage(RunContext& ctx) : ctx_(ctx) {
  if (!ctx.options.keys_file.empty()) {
    file_ = std::make_unique<std::ifstream>(ctx.options.keys_file);
  }
}

KeyListStage::~KeyListStage() = default;

Status KeyListStage::Start() {
  if (file_ && !*file_) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot read --keys-file " + ctx_.options.keys_file);
  }
  auto first = HeadChunk();
  if (!first.ok()) return first.error();
  pending_ = std::move(*first);
  done_ = !pending_->is_truncated;
  return OkStatus();
}

bool KeyListStage::NextKey(std::string* key) {
  const auto& keys = ctx_.options.keys;
  while (next_index_ < keys.size()) {
    *key = keys[next_index_++];
    if (!key->empty()) return true;
  }
  return file_ && NextKeyLine(*file_, key);
}


Result<PagePtr> KeyListStage::HeadChunk() {
  std::vector<std::string> keys;
  std::string key;
  while (keys.size() < static_cast<size_t>(ctx_.options.list_page_size) && NextKey(&key)) keys.push_back(key);
  auto page = std::make_shared<s3::ListPage>();
  page->is_truncated = !keys.empty();  // the end shows as an empty, final page
  const RetryScope scope{ctx_.options.retry, &ctx_.stop, &ctx_.stats};
  auto found = HeadKeyChunk(ctx_.transport, ctx_.requests, ctx_.options.bucket, keys, scope, &ctx_.stats,
                            " (a key list names whole keys: check that the prefix is part of it)");
  if (!found.ok()) return found.error();
  page->objects = std::move(*found);
  return page;
}

PagePtr KeyListStage::Next() {
  if (pending_) return std::move(pending_);
  if (done_ || ctx_.stop) return nullptr;
  auto page = HeadChunk();
  if (!page.ok()) {
    done_ = true;
    ctx_.Fail(page.error());
    return nullptr;
  }
  if (!(*page)->is_truncated) done_ = true;
  return std::move(*page);
}

}  // namespace riptide::engine
