// A glob without '/' matches the file name (like .gitignore), one with '/' the whole path.
#include "http/cache_control.hpp"

#include "base/glob.hpp"

namespace modelhost::http {

std::string_view CacheControl::value_for(std::string_view path) const {
    std::string_view name = path.substr(path.rfind('/') + 1);
    for (const auto& r : rules_) {
        bool whole_path = r.path.find('/') != std::string::npos;
        if (glob_match(r.path, whole_path ? path : name)) return r.value;
    }
    return {};
}

}  // namespace modelhost::http
