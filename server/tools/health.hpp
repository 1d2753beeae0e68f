// `modelhost health [--url URL]`: probes the liveness endpoint, for container HEALTHCHECKs (no curl needed).
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace modelhost::tools {

int health_command(const std::vector<std::string>& args);

// The configuration a running server here uses (--config FILE, else MODELHOST_CONFIG, then MODELHOST_* variables),
// read without looking at server.root or the TLS files. Throws config::ConfigError.
config::Config configured_server(const std::optional<std::string>& file);

// "http://127.0.0.1:8080" for that server (https with tls; wildcard hosts probed on loopback).
std::string local_base_url(const config::Config& cfg);

}  // namespace modelhost::tools
