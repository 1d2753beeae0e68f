// Internal to config loading: the merged raw document and where each key came from.
#pragma once

#include "config/load.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modelhost::config {

struct Layered {
    nlohmann::json doc;                          // file, env and flags merged; defaults are not in it
    std::map<std::string, std::string> sources;  // "server.port" -> "MODELHOST_PORT"
    std::vector<std::string> warnings;           // logged at start-up
    bool check_files = true;                     // LoadInput::check_files
    bool root_optional = false;                  // LoadInput::root_optional
};

// A config document given as text: a JSON object, or a ConfigError naming `name` ("not valid JSON: ...").
nlohmann::json parse_document(const std::string& name, const std::string& text);

// A config file's document, its relative paths taken from the file's folder (flags and env vars stay relative to the
// working directory, as a shell user expects); a ConfigError naming the file when it cannot be read or parsed.
nlohmann::json read_config_file(const std::string& file);

// Throws ConfigError for unreadable/invalid JSON, unknown flags or env names, and untyped values.
Layered layer(const LoadInput& in);

// Stage two: checks every key and value of the merged document. Throws ConfigError.
Config validate(const Layered& raw);

}  // namespace modelhost::config
