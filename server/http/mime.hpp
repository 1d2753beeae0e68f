// Content-Type by file extension, the table the browser's model loaders depend on.
#pragma once

#include <string_view>

namespace modelhost::http {

// The Content-Type for a file name; text types carry "; charset=utf-8"; unknown -> application/octet-stream.
std::string_view mime_type(std::string_view filename);

// True for types a browser runs or renders as a document (HTML, SVG, JavaScript, XML): never fetched from a remote
// into the root (`modelhost fetch`, mirrors), so a hostile remote cannot plant a page on the server's origin.
bool is_active_content(std::string_view type);
// Active content other than JavaScript (HTML, SVG: the types is_active_content names), which an npm package (a runtime) exists to serve.
bool is_active_markup(std::string_view type);

// The types of the server's own bodies: error and health texts, the catalog.
inline constexpr std::string_view plain_text_type = "text/plain; charset=utf-8";
inline constexpr std::string_view json_type = "application/json";

}  // namespace modelhost::http
