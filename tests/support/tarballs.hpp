// npm-style tarballs made by the tests: ustar headers (POSIX.1-2001) written here, a pax 'x' header for a long path,
// gzip'd with zlib; entries of any kind, so hostile ones can be built too.
#pragma once

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace modelhost::test {

struct TarEntry {
    TarEntry(std::string n, std::string b = "", char t = '0', std::string l = "", bool pax = false)
        : name(std::move(n)), body(std::move(b)), type(t), link(std::move(l)), pax_path(pax) {}
    std::string name;
    std::string body;
    char type = '0';        // '0' file, '5' folder, '2' symlink, '1' hard link, '3' char device, '6' FIFO, ...
    std::string link;       // a link's target
    bool pax_path = false;  // the path in a pax header (as npm writes a path over 100 bytes)
    std::string pax_name = "package/short-name";  // the ustar name under such a pax header
};

// A name over 100 bytes goes into ustar's prefix and name fields, split at a '/' (as npm's tar writes it).
inline std::string tar_header(const std::string& full, std::size_t size, char type, const std::string& link = "") {
    std::string h(512, '\0');
    std::string name = full;
    if (full.size() > 100) {
        const std::size_t cut = full.rfind('/', 155);
        std::memcpy(h.data() + 345, full.data(), cut);
        name = full.substr(cut + 1);
    }
    std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
    std::snprintf(h.data() + 100, 8, "%07o", 0644);
    std::snprintf(h.data() + 108, 8, "%07o", 0);
    std::snprintf(h.data() + 116, 8, "%07o", 0);
    std::snprintf(h.data() + 124, 12, "%011zo", size);
    std::snprintf(h.data() + 136, 12, "%011o", 1700000000u);
    h[156] = type;
    std::memcpy(h.data() + 157, link.data(), std::min<std::size_t>(link.size(), 100));
    std::memcpy(h.data() + 257, "ustar\0" "00", 8);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    return h;
}

inline std::string padded(std::string body) {
    body.resize((body.size() + 511) / 512 * 512, '\0');
    return body;
}

inline std::string tar(const std::vector<TarEntry>& entries) {
    std::string out;
    for (const auto& e : entries) {
        std::string name = e.name;
        if (e.pax_path) {
            std::string record = " path=" + e.name + "\n";
            std::size_t len = record.size() + 1;
            while (std::to_string(len).size() + record.size() != len) ++len;
            record = std::to_string(len) + record;
            out += tar_header("PaxHeader", record.size(), 'x') + padded(record);
            name = e.pax_name;
        }
        out += tar_header(name, e.body.size(), e.type, e.link) + padded(e.body);
    }
    return out + std::string(1024, '\0');
}

inline std::string gzip(const std::string& data) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

inline std::string npm_tarball(const std::vector<TarEntry>& entries) { return gzip(tar(entries)); }

}  // namespace modelhost::test
