// Loads configuration in two stages: layered raw JSON (defaults < file < env < flags), then validation.
#pragma once

#include "config/config.hpp"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace modelhost::config {

// A configuration that cannot be used; the message names the key, its source and what would be valid.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A command-line setting, already split into flag and value ("--port", "8080").
struct FlagValue {
    std::string flag;
    std::string value;
};

struct LoadInput {
    std::optional<std::string> file;
    // Looks up an environment variable; empty optional when unset.
    std::function<std::optional<std::string>(const std::string&)> getenv;
    // Names of all MODELHOST_* variables present, so that misspelt ones are reported.
    std::vector<std::string> env_names;
    std::vector<FlagValue> flags;
    // false: server.root and the TLS files are not looked at (`modelhost health` runs where only the config is).
    bool check_files = true;
};

// One setting reachable from env vars and flags; the table behind --help and the README.
struct Setting {
    const char* key;   // "server.port"
    const char* env;   // "MODELHOST_PORT"
    const char* flag;  // "--port", or nullptr
    const char* kind;  // "string", "integer", "number", "boolean", "list"
};

const std::vector<Setting>& settings();

// Reads the process environment into LoadInput::getenv/env_names.
void use_process_environment(LoadInput& in);

// Throws ConfigError.
Config load(const LoadInput& in);

}  // namespace modelhost::config
