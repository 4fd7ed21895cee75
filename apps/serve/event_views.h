// What the event endpoints say: the object-event counters, the events section of the
// history page, and the files table (HTML, or JSON when asked).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "apps/serve/event_store.h"

namespace riptide::serve {

nlohmann::json CountersJson(const NoticeCounters& c);
nlohmann::json NoticesJson(const std::vector<NoticeRow>& notices);
/// A section of the newest object events, each with the jobs it matched and how each ended.
std::string NoticesHtml(const std::vector<NoticeRow>& notices);

struct FilesPage {
  std::string job, prefix, after;
  std::vector<FileRow> rows;
  std::string next;  // the `after` of the next page; "" on the last
};
nlohmann::json FilesJson(const FilesPage& page);
std::string FilesHtml(const FilesPage& page);

}  // namespace riptide::serve
