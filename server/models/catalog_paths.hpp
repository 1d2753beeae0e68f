// What the catalog's checks share about files under the root (catalog.cpp defines them): not part of the API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace modelhost::models::detail {

// `rel` (a path written in a model's file) as a file under `dir` inside `root`, through symlinks; empty when it
// would leave the root.
std::filesystem::path inside(const std::filesystem::path& root, const std::filesystem::path& dir, const std::string& rel);

// The file's size; 0 when it is missing or unreadable.
std::uint64_t size_or_zero(const std::filesystem::path& p);

bool is_file(const std::filesystem::path& p);

// The first `max` bytes of a small text file (a config); nothing when it cannot be opened.
std::string head_text(const std::filesystem::path& p, std::uint64_t max);

}  // namespace modelhost::models::detail
