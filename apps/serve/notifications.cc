#include "apps/serve/notifications.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "transport/strings.h"

namespace riptide::serve {
namespace {

using nlohmann::json;

constexpr size_t kMaxKeyBytes = 1024;  // S3's own limit

Error Bad(const std::string& message) { return MakeError(ErrorCode::kInvalidArgument, message); }

// A string (or number) member, "" when absent or of another type.
std::string Str(const json& j, const char* name) {
  if (!j.is_object()) return {};
  auto it = j.find(name);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

const json& Obj(const json& j, const char* name) {
  static const json kEmpty = json::object();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(name);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

int64_t Size(const std::string& text) {
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), ::isdigit)) return -1;
  return std::stoll(text);
}

Status Check(const Notice& n, const std::string& where) {
  if (n.bucket.empty() || n.key.empty()) return Bad(where + " names no bucket and key");
  if (n.key.size() > kMaxKeyBytes) return Bad(where + " names a key longer than 1024 bytes");
  return OkStatus();
}

// S3's Records[]: one notice per object record; other records (tests, tagging) say nothing.
Status FromRecords(const json& records, std::vector<Notice>& out) {
  if (!records.is_array()) return Bad("Records is not an array");
  for (size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i];
    const std::string name = Str(r, "eventName");
    const bool created = name.find("ObjectCreated") != std::string::npos;
    const bool removed = name.find("ObjectRemoved") != std::string::npos ||
                         name.find("LifecycleExpiration") != std::string::npos;
    if (!created && !removed) continue;
    const json& s3 = Obj(r, "s3");
    const json& object = Obj(s3, "object");
    Notice n;
    n.format = "s3";
    n.removed = removed;
    n.bucket = Str(Obj(s3, "bucket"), "name");
    auto key = DecodeNotificationKey(Str(object, "key"));
    if (!key.ok()) return Bad("Records[" + std::to_string(i) + "]: " + key.error().message);
    n.key = std::move(*key);
    n.etag = StripQuotes(Str(object, "eTag"));
    n.sequencer = Str(object, "sequencer");
    n.size = object.contains("size") && object["size"].is_number_unsigned() ? object["size"].get<int64_t>() : -1;
    n.id = Str(Obj(r, "responseElements"), "x-amz-request-id");
    if (Status st = Check(n, "Records[" + std::to_string(i) + "]"); !st.ok()) return st;
    out.push_back(std::move(n));
  }
  return OkStatus();
}

// What a CloudEvent's envelope says, from headers (binary mode) or the body (structured).
struct Envelope {
  std::string type, subject, source, id;
};

bool Removal(const std::string& operation) {
  const std::string op = AsciiLower(operation);
  return op.find("delete") != std::string::npos || op.find("removed") != std::string::npos;
}

// An IBM COS notification (the body Code Engine delivers), or only a CloudEvent's
// envelope: the key is in `key`, `notification.object_name` or the subject.
Status FromCos(const json& payload, const Envelope& envelope, std::vector<Notice>& out) {
  const json& note = Obj(payload, "notification");
  Notice n;
  n.format = note.empty() && !payload.contains("operation") ? "cloudevent" : "cos";
  n.bucket = Str(payload, "bucket");
  if (n.bucket.empty()) n.bucket = Str(note, "bucket_name");
  if (n.bucket.empty() && !envelope.source.empty()) {
    std::string source = envelope.source;
    while (!source.empty() && source.back() == '/') source.pop_back();
    n.bucket = source.substr(source.rfind('/') == std::string::npos ? 0 : source.rfind('/') + 1);
  }
  n.key = Str(payload, "key");
  if (n.key.empty()) n.key = Str(note, "object_name");
  if (n.key.empty()) n.key = envelope.subject;
  std::string operation = Str(payload, "operation");
  if (operation.empty()) operation = Str(note, "event_type");
  if (operation.empty()) operation = envelope.type;
  n.removed = Removal(operation);
  n.etag = StripQuotes(Str(note, "object_etag"));
  if (n.etag.empty()) n.etag = StripQuotes(Str(payload, "etag"));
  n.size = Size(Str(note, "object_length"));
  n.id = envelope.id.empty() ? Str(note, "request_id") : envelope.id;
  if (Status st = Check(n, "the notification"); !st.ok()) return st;
  out.push_back(std::move(n));
  return OkStatus();
}

Status FromPayload(const json& payload, const Envelope& envelope, bool cloudevent, std::vector<Notice>& out) {
  if (payload.is_object() && payload.contains("Records")) return FromRecords(payload["Records"], out);
  if (payload.is_object() && Str(payload, "Event") == "s3:TestEvent") return OkStatus();
  const bool cos = payload.is_object() && (payload.contains("notification") || payload.contains("operation"));
  if (cos || (cloudevent && !envelope.subject.empty())) return FromCos(payload, envelope, out);
  if (payload.is_object() && payload.contains("bucket") && payload.contains("key")) {
    Notice n;
    n.format = "plain";
    n.bucket = Str(payload, "bucket");
    n.key = Str(payload, "key");
    const std::string event = AsciiLower(Str(payload, "event"));
    if (!event.empty() && event != "created" && event != "removed") {
      return Bad("\"event\" is \"created\" or \"removed\", not \"" + event + "\"");
    }
    n.removed = event == "removed";
    n.etag = StripQuotes(Str(payload, "etag"));
    if (Status st = Check(n, "the event"); !st.ok()) return st;
    out.push_back(std::move(n));
    return OkStatus();
  }
  return Bad("no known notification format: expected S3 Records[], an IBM COS notification, a CloudEvent "
             "or {\"bucket\": …, \"key\": …}");
}

}  // namespace

Result<std::string> DecodeNotificationKey(const std::string& encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= encoded.size() || !std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(encoded[i + 2]))) {
        return Bad("a key with a broken %-escape");
      }
      out += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::vector<Notice>> ParseNotifications(const std::string& body, const HeaderFn& header) {
  Envelope envelope{header("ce-type"), header("ce-subject"), header("ce-source"), header("ce-id")};
  bool cloudevent = !header("ce-specversion").empty();
  json payload = json::object();
  if (!body.empty() || !cloudevent) {
    payload = json::parse(body, nullptr, false);
    if (payload.is_discarded()) return Bad("the body is not JSON");
  }
  // An SNS delivery carries the notification as a JSON string.
  if (Str(payload, "Type") == "Notification" && payload.contains("Message")) {
    payload = json::parse(Str(payload, "Message"), nullptr, false);
    if (payload.is_discarded()) return Bad("the SNS Message is not JSON");
  }
  if (payload.is_object() && payload.contains("specversion")) {  // a structured CloudEvent
    cloudevent = true;
    envelope = {Str(payload, "type"), Str(payload, "subject"), Str(payload, "source"), Str(payload, "id")};
    json data = payload.contains("data") ? payload["data"] : json::object();
    if (data.is_string()) data = json::parse(data.get<std::string>(), nullptr, false);
    payload = data.is_object() ? data : json::object();
  }
  std::vector<Notice> out;
  if (Status st = FromPayload(payload, envelope, cloudevent, out); !st.ok()) return st.error();
  return out;
}

}  // namespace riptide::serve
