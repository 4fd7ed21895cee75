// libFuzzer target: configuration text. The bytes are split into an AWS credentials
// file, a config file and an s3:// URL; parsing and resolving never crash, and a
// resolved configuration never holds a secret without its key id (unless a temporary-
// credentials source will supply the keys).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/s3/config.h"
#include "transport/s3/ini.h"
#include "transport/s3/uri.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto take = [&input]() {
    const size_t cut = input.find('\x1e');  // record separator between the parts
    std::string part(input.substr(0, cut));
    input = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
    return part;
  };
  riptide::s3::ConfigSources sources;
  sources.credentials_text = take();
  sources.config_text = take();
  const std::string url = take();
  sources.credentials_file_found = sources.config_file_found = true;
  (void)riptide::s3::ParseIni(sources.credentials_text);
  (void)riptide::s3::ParseS3Url(url);
  (void)riptide::s3::ParseEndpoint(url);
  riptide::s3::ConfigFlags flags;
  flags.profile = std::string(input.substr(0, 16));
  auto cfg = riptide::s3::ResolveClientConfig(flags, sources);
  // No key id is fine only for anonymous requests or when a temporary-credentials source
  // (credential_process, web identity, …) will supply the keys.
  if (cfg.ok() && !cfg->anonymous && cfg->credentials.access_key_id.empty() &&
      cfg->credential_source.kind == riptide::s3::CredentialSource::Kind::kNone) {
    __builtin_trap();
  }
  return 0;
}
