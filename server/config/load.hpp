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
    // JSON documents given as text, each layered over the file (and under the environment and flags) in order:
    // {name for messages, text}. The embedding API's Options arrive this way.
    std::vector<std::pair<std::string, std::string>> documents;
    // A JSON document beneath everything else, as built-in defaults are (the embedding API's own: no folder at "/",
    // a free port, one thread); it names no source.
    std::string defaults;
    // true: server.root may be "" (no folder at "/"; the embedding API's mounts serve instead).
    bool root_optional = false;
};

// Compares one setting of two configurations: true when they agree.
using SameSetting = bool (*)(const Config&, const Config&);

// Every key of the configuration, one row each: the table behind the env vars, the flags, --help, the start-up
// "settings from" line and what a reload can change (tests/unit/config/config_test.cpp checks that every key
// validate() accepts has its row).
struct Setting {
    const char* key;   // "server.port"
    const char* env;   // "MODELHOST_PORT", or nullptr (a key only a config file sets: headers, routes, ...)
    const char* flag;  // "--port", or nullptr
    const char* kind;  // "string", "integer", "number", "boolean", "list", "object", "array"
    SameSetting same;  // the values agree (used to tell a setting at its default)
    // nullptr: a reload applies a change. Else the running process keeps its value, and a reload that changes it
    // (this returns false) says it takes effect at the next restart. (server.root is restart-only while there are
    // mirrors, and reloadable without.)
    SameSetting kept_until_restart = nullptr;
};

const std::vector<Setting>& settings();

// The restart-only settings whose value differs between the running and the reloaded configuration.
std::vector<std::string> needs_restart(const Config& now, const Config& next);

// The settings among `keys` whose value in `cfg` differs from the built-in default (sections are left out).
std::vector<std::string> not_default(const Config& cfg, const std::vector<std::string>& keys);

// Reads the process environment into LoadInput::getenv/env_names.
void use_process_environment(LoadInput& in);

// Throws ConfigError.
Config load(const LoadInput& in);

}  // namespace modelhost::config
