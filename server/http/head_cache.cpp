#include "http/head_cache.hpp"

#include "metrics/metrics.hpp"

#include <mutex>

namespace modelhost::http {

std::shared_ptr<const RepresentationHead> HeadCache::find(std::string_view relative, Slot slot,
                                                          const fs::Lookup& file) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(relative);
    if (it == entries_.end()) {
        metrics::count(metrics::Event::head_miss);
        return nullptr;
    }
    const Built& b = it->second[static_cast<std::size_t>(slot)];
    bool hit = b.head && b.version == version_of(file);
    metrics::count(hit ? metrics::Event::head_hit : metrics::Event::head_miss);
    return hit ? b.head : nullptr;
}

void HeadCache::store(std::string_view relative, Slot slot, const fs::Lookup& file,
                      std::shared_ptr<const RepresentationHead> head) {
    std::unique_lock lock(mutex_);
    if (entries_.size() >= max_paths && !entries_.contains(relative)) entries_.clear();
    entries_.try_emplace(std::string(relative)).first->second[static_cast<std::size_t>(slot)] = Built{version_of(file), std::move(head)};
}

}  // namespace modelhost::http
