// Files a mirror stored and reads (a hub's revision answer, an npm package's document, an unpacked version's record),
// parsed once per file version (device, inode, size and mtime), so a request parses none.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace modelhost {

template <class Parsed>
class ParsedFiles {
public:
    static constexpr std::size_t max_entries = 1024;
    static constexpr std::size_t max_bytes = 64u << 20;  // of the documents' texts, all kept documents together

    // Files over `max_file_bytes` are not read; `parse` reads one (it never throws: a refusal is in what it returns).
    ParsedFiles(std::size_t max_file_bytes, std::function<Parsed(std::string_view)> parse)
        : max_file_bytes_(max_file_bytes), parse_(std::move(parse)) {}

    // The document stored in `file`, parsed; null when the file cannot be read or is too large.
    std::shared_ptr<const Parsed> get(const std::filesystem::path& file) const {
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) return nullptr;
        const std::string version = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
                                    ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
        {
            std::lock_guard lock(mutex_);
            if (auto it = kept_.find(file.native()); it != kept_.end() && it->second.version == version) return it->second.parsed;
        }
        if (static_cast<std::uint64_t>(st.st_size) > max_file_bytes_) return nullptr;
        std::ifstream in(file, std::ios::binary);
        std::string text{std::istreambuf_iterator<char>(in), {}};
        auto parsed = std::make_shared<const Parsed>(parse_(text));
        std::lock_guard lock(mutex_);
        if (auto old = kept_.find(file.native()); old != kept_.end()) {
            kept_bytes_ -= old->second.bytes;
            kept_.erase(old);
        }
        if (kept_.size() >= max_entries || kept_bytes_ + text.size() > max_bytes) {  // rare: start over rather than grow
            kept_.clear();
            kept_bytes_ = 0;
        }
        kept_[file.native()] = {version, parsed, text.size()};
        kept_bytes_ += text.size();
        return parsed;
    }

private:
    struct Kept {
        std::string version;
        std::shared_ptr<const Parsed> parsed;
        std::size_t bytes = 0;  // the document's text, as the measure of what it keeps
    };
    std::size_t max_file_bytes_;
    std::function<Parsed(std::string_view)> parse_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, Kept, std::less<>> kept_;
    mutable std::size_t kept_bytes_ = 0;
};

}  // namespace modelhost
