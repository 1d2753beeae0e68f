// A JSON file's text as a document, for the readers that take a whole JSON object (model.json, config.json,
// mlc-chat-config.json, tensor-cache.json): what they say when it does not parse is the same everywhere, with the byte
// where it stops, and a text cut short is said to be so.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace modelhost::models {

// Parses `text` into `doc`; "" when it is a JSON object, else why not ("not valid JSON: it ends inside a value at
// byte 40 (cut short?)", "not a JSON object: its top-level value is an array"). Never throws.
std::string read_json_object(std::string_view text, nlohmann::json& doc);
// The same, refusing a text over `max_bytes` without parsing it ("larger than N bytes").
std::string read_json_object(std::string_view text, nlohmann::json& doc, std::size_t max_bytes);

// doc[key] when it is a string, cut to `max` bytes (it is hostile, and only shown); "" otherwise.
std::string string_member(const nlohmann::json& doc, const char* key, std::size_t max = 80);

}  // namespace modelhost::models
