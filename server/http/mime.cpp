// Extension -> media type; `.wasm` must be application/wasm or browsers refuse streaming compilation.
#include "http/mime.hpp"

#include "base/text.hpp"

#include <array>
#include <utility>

namespace modelhost::http {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 24> types{{
    {"json", "application/json"},
    {"bin", "application/octet-stream"},
    {"tflite", "application/octet-stream"},
    {"task", "application/octet-stream"},
    {"binarypb", "application/octet-stream"},
    {"data", "application/octet-stream"},
    {"pb", "application/octet-stream"},
    {"wasm", "application/wasm"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"cjs", "text/javascript; charset=utf-8"},  // (a worker's importScripts refuses any other type)
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"map", "application/json"},
}};

}  // namespace

std::string_view mime_type(std::string_view filename) {
    auto dot = filename.rfind('.');
    if (dot == std::string_view::npos || filename.size() - dot - 1 > 8) return "application/octet-stream";
    const std::string_view ext = filename.substr(dot + 1);
    for (const auto& [known, type] : types)
        if (equals_lower(ext, known)) return type;
    return "application/octet-stream";
}

bool is_active_content(std::string_view type) {
    for (std::string_view active : {"html", "svg", "javascript", "xml"})
        if (type.find(active) != std::string_view::npos) return true;
    return false;
}

bool is_active_markup(std::string_view type) {
    return is_active_content(type) && type.find("javascript") == std::string_view::npos;
}

}  // namespace modelhost::http
