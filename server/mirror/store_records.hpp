// The store's records as its snapshot and journal hold them (docs/STORE.md), shared by the store's two halves:
// store.cpp (locks, uses, fills, eviction) and store_index.cpp (the snapshot and journal on disk).
#pragma once

#include "mirror/store.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace modelhost::mirror::store_records {

[[noreturn]] inline void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

inline double seconds(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

inline Clock::time_point from_seconds(double s) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
}

// A record's fields, from a file under the root like any other: a field of another type counts as absent.
inline std::string text(const nlohmann::json& v, const char* key) {
    auto it = v.find(key);
    return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}
inline double number(const nlohmann::json& v, const char* key) {
    auto it = v.find(key);
    return it != v.end() && it->is_number() ? it->get<double>() : 0.0;
}

inline nlohmann::json record(const Entry& e) {
    return {{"etag", e.etag}, {"last_modified", e.last_modified}, {"checked", seconds(e.checked)},
            {"used", seconds(e.used)}, {"size", e.size}};
}

// A record as read; `sized` false when it names no size (an index written by hand, or garbled).
inline Entry entry_of(const nlohmann::json& v, bool& sized) {
    Entry e;
    e.etag = text(v, "etag");
    e.last_modified = text(v, "last_modified");
    e.checked = from_seconds(number(v, "checked"));
    e.used = from_seconds(number(v, "used"));
    auto size = v.find("size");
    sized = size != v.end() && size->is_number_unsigned();
    e.size = sized ? size->get<std::uint64_t>() : 0;
    return e;
}

}  // namespace modelhost::mirror::store_records
