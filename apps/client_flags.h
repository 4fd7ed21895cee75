// The flags every command that talks to a bucket shares: where, who, how to connect.
// They fill an engine::ClientSpec; resolving it is the engine's (engine/config).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "engine/config/client_spec.h"

namespace riptide::app {

/// Puts the options `add` adds to `cmd` under the help heading `group` ("Connection",
/// "Performance", "Selection", "Safety", "Output"): --help reads by purpose.
/// A description that starts with its value's name ("GLOB: keys that match") gives the
/// option that type name: the help reads "--include GLOB  keys that match", not "TEXT".
template <typename Add>
void InGroup(CLI::App* cmd, const std::string& group, Add&& add) {
  const size_t before = cmd->get_options().size();
  add();
  auto options = cmd->get_options([](const CLI::Option*) { return true; });
  for (size_t i = before; i < options.size(); ++i) {
    CLI::Option* o = options[i];
    o->group(group);
    const std::string text = o->get_description();
    const size_t colon = text.find(": ");
    if (colon == 0 || colon > 8 || colon == std::string::npos) continue;
    if (text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") < colon) continue;
    o->type_name(text.substr(0, colon));
    o->description(text.substr(colon + 2));
  }
}

/// --concurrency N|auto: requests in flight, fixed or found while running.
CLI::Option* ConcurrencyOption(CLI::App* cmd, int& value);

/// --list-concurrency N: how many key ranges of one listing are fetched at once.
CLI::Option* ListConcurrencyOption(CLI::App* cmd, int& value);

/// Help that reads as the command is typed: "Usage: riptide sync [OPTIONS] SRC DST".
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    return CLI::Formatter::make_usage(app, app->get_parent() ? "riptide " + name : name);
  }
};

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
