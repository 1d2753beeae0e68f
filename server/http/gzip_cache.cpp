// zlib deflate with a gzip wrapper; a changed file has a new ETag, so its stale entry is simply replaced.
#include "http/gzip_cache.hpp"

#include "metrics/metrics.hpp"

#include <unistd.h>
#include <zlib.h>

namespace modelhost::http {

std::string gzip_compress(std::string_view data, int level) {
    z_stream zs{};
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? out : std::string{};
}

std::shared_ptr<const std::string> GzipCache::get(const std::string& path, const std::string& version,
                                                  const fs::Lookup& file) {
    const std::uint64_t size = file.size;
    if (size > max_file_bytes_ || size == 0) return nullptr;
    const std::string key = path + '\n' + version;
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(path); it != entries_.end() && it->second.version == version) {
            metrics::count(metrics::Event::gzip_hit);
            return it->second.gz;
        }
        metrics::count(metrics::Event::gzip_miss);
        // One compression per file version at a time, and a bounded number overall: the others get identity now.
        if (in_flight_.size() >= max_concurrent || !in_flight_.insert(key).second) return nullptr;
    }
    struct Done {
        GzipCache& cache;
        const std::string& key;
        ~Done() {
            std::lock_guard lock(cache.mutex_);
            cache.in_flight_.erase(key);
        }
    } done{*this, key};
    std::string raw(static_cast<std::size_t>(size), '\0');
    if (file.content) {
        raw.assign(file.content.get(), static_cast<std::size_t>(size));
    } else {
        for (std::size_t got = 0; got < raw.size();) {
            ssize_t n = ::pread(file.file->fd(), raw.data() + got, raw.size() - got, static_cast<off_t>(file.file_offset + got));
            if (n <= 0) return nullptr;  // changed under us: serve identity this time
            got += static_cast<std::size_t>(n);
        }
    }
    std::string gz = gzip_compress(raw, 6);
    std::shared_ptr<const std::string> value;
    if (!gz.empty() && gz.size() < raw.size()) value = std::make_shared<const std::string>(std::move(gz));

    std::lock_guard lock(mutex_);
    auto& slot = entries_[path];
    if (slot.gz) bytes_ -= slot.gz->size();
    if (value && bytes_ + value->size() > capacity_) {
        entries_.clear();  // a simple bound: start over rather than grow without limit
        bytes_ = 0;
    }
    Entry& e = entries_[path];
    e = Entry{version, value};
    if (value) bytes_ += value->size();
    return value;
}

}  // namespace modelhost::http
