// nlohmann's parser is iterative (a deep nesting costs memory, not stack), and its parse_error carries the byte.
#include "models/json_text.hpp"

namespace modelhost::models {

namespace {

using json = nlohmann::json;

// Where a JSON text stops parsing, and why: a text that ends inside a value is the usual breakage (a copy or an
// upload cut short), and is said so.
std::string json_error(const json::parse_error& e, std::size_t size) {
    if (size == 0) return "not valid JSON: the file is empty";
    if (e.byte >= size) return "not valid JSON: it ends inside a value at byte " + std::to_string(size) + " (cut short?)";
    const std::string what = e.what();
    const auto reason = what.find(": ", what.find("column"));
    std::string out = "not valid JSON at byte " + std::to_string(e.byte);
    if (reason != std::string::npos) out += what.substr(reason);
    return out;
}

}  // namespace

std::string read_json_object(std::string_view text, json& doc) {
    try {
        doc = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        return json_error(e, text.size());
    } catch (const json::exception& e) {  // a number too large for a double (out_of_range.406)
        return std::string("not valid JSON: ") + e.what();
    }
    if (doc.is_object()) return {};
    const std::string type = doc.type_name();
    return "not a JSON object: its top-level value is " + (type == "array" ? "an array" : type == "null" ? type : "a " + type);
}

std::string read_json_object(std::string_view text, json& doc, std::size_t max_bytes) {
    if (text.size() > max_bytes) return "larger than " + std::to_string(max_bytes) + " bytes";
    return read_json_object(text, doc);
}

std::string string_member(const json& doc, const char* key, std::size_t max) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get_ref<const std::string&>().substr(0, max) : std::string();
}

}  // namespace modelhost::models
