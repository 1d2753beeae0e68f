// Route path globs: `**` any run of characters, `*` any run without '/', `?` one character other than '/'.
#pragma once

#include <string>
#include <string_view>

namespace modelhost {

// True when the decoded request path matches the glob (e.g. "/private/**" matches "/private/a/b.bin").
bool glob_match(std::string_view glob, std::string_view path);

}  // namespace modelhost
