// The flags every command that talks to a bucket shares: where, who, how to connect.
// They fill an engine::ClientSpec; resolving it is the engine's (engine/config).
#pragma once

#include <CLI/CLI.hpp>

#include "engine/config/client_spec.h"

namespace riptide::app {

class ClientFlags {
 public:
  /// Adds --endpoint, --region, --profile, addressing, TLS, retry and timeout flags.
  void Add(CLI::App* cmd);
  const engine::ClientSpec& spec() const { return spec_; }
  engine::ClientResolver Resolver(const s3::ConfigSources& sources, http::TransportFactory transports) const {
    return {spec_, sources, std::move(transports)};
  }

 private:
  engine::ClientSpec spec_;
};

}  // namespace riptide::app
