// libFuzzer target: event notification bodies. The bytes are a body, optionally after
// CloudEvent header values split by record separators; parsing never crashes, and every
// notice it returns names a bucket and a key of at most 1,024 bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "apps/serve/notifications.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string headers[3];
  for (auto& h : headers) {
    const size_t cut = input.find('\x1e');
    if (cut == std::string_view::npos) break;
    h = std::string(input.substr(0, cut));
    input = input.substr(cut + 1);
  }
  auto header = [&headers](const std::string& name) {
    if (name == "ce-specversion") return headers[0];
    if (name == "ce-subject") return headers[1];
    if (name == "ce-source") return headers[2];
    return std::string();
  };
  auto notices = riptide::serve::ParseNotifications(std::string(input), header);
  if (notices.ok()) {
    for (const auto& n : *notices) {
      if (n.bucket.empty() || n.key.empty() || n.key.size() > 1024) __builtin_trap();
    }
  }
  return 0;
}
