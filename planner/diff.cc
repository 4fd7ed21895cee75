#include "planner/diff.h"

namespace riptide::planner {

Decision Differ::Compare(const s3::ObjectInfo& listed, const std::optional<ManifestEntry>& known) const {
  Decision d{Decision::Action::kNew, listed, {}};
  if (!known) return d;
  d.known = *known;
  bool same = known->size == listed.size && known->etag == listed.etag;
  if (options_.compare_last_modified && listed.last_modified_ms > known->last_modified_ms) same = false;
  d.action = same ? Decision::Action::kUnchanged : Decision::Action::kChanged;
  return d;
}

void Differ::Feed(const std::vector<s3::ObjectInfo>& page, std::vector<Decision>* out) {
  for (const auto& obj : page) {
    if (options_.lookup_only) {
      out->push_back(Compare(obj, manifest_.Find(obj.key)));
      continue;
    }
    FeedOne(obj, out);
  }
}

void Differ::FeedOne(const s3::ObjectInfo& obj, std::vector<Decision>* out) {
  if (any_ && obj.key <= last_key_) {
    // Out of order (some servers list in file-system order): look it up instead. Rows
    // before the point where order broke were passed over as kGone, so a row found there
    // takes its kGone back (S3 lists each key once: it was not matched before).
    if (sorted_) {
      sorted_ = false;
      sorted_until_ = last_key_;
    }
    manifest_.MarkListed(obj.key);
    Decision d = Compare(obj, manifest_.Find(obj.key));
    d.retracts_gone = d.action != Decision::Action::kNew && obj.key < sorted_until_;
    out->push_back(std::move(d));
    return;
  }
  any_ = true;
  last_key_ = obj.key;
  if (!sorted_) manifest_.MarkListed(obj.key);
  const ManifestEntry* row = manifest_.Current();
  while (row && row->key < obj.key) {
    // Passed over: gone while the listing is in order; after that, Finish decides.
    if (sorted_) {
      Decision gone{Decision::Action::kGone, {}, *row};
      gone.object.key = row->key;
      out->push_back(std::move(gone));
    }
    manifest_.Next();
    row = manifest_.Current();
  }
  if (row && row->key == obj.key) {
    out->push_back(Compare(obj, *row));
    manifest_.Next();
  } else {
    out->push_back(Compare(obj, std::nullopt));
  }
}

void Differ::Finish(std::vector<Decision>* out) {
  if (options_.lookup_only) return;
  // In order, the rows after the last key are the rest of the gone ones. Out of order,
  // the rows after the point where order broke that no listed key named are.
  if (!sorted_) manifest_.RewindUnlisted(sorted_until_);
  for (const ManifestEntry* row = manifest_.Current(); row; manifest_.Next(), row = manifest_.Current()) {
    Decision gone{Decision::Action::kGone, {}, *row};
    gone.object.key = row->key;
    out->push_back(std::move(gone));
  }
}

}  // namespace riptide::planner
