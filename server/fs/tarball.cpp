// The tar format as POSIX.1-2001 (pax) defines it (IEEE Std 1003.1, "pax", ustar Interchange Format and pax Header
// Block), with GNU's long-name header ('L') that older npm clients wrote; gzip as RFC 1952, inflated by zlib.
#include "fs/tarball.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <system_error>
#include <fcntl.h>
#include <unistd.h>

namespace modelhost::fs {

namespace fsys = std::filesystem;

namespace {

constexpr std::size_t block = 512;
constexpr std::size_t max_path_bytes = 1024;
constexpr std::size_t max_segment_bytes = 255;
constexpr std::size_t max_segments = 32;
constexpr std::uint64_t max_header_body = 1 << 20;          // a pax header's records, a GNU long name
constexpr std::uint64_t max_header_bodies = 16u << 20;      // all of them together
constexpr std::size_t max_name_bytes = 64u << 20;           // the paths and folders remembered to find clashes

// The tarball's bytes, inflated as they are asked for.
class Inflater {
public:
    explicit Inflater(int fd) : fd_(fd) {
        if (::inflateInit2(&z_, 15 + 16) != Z_OK) throw TarballError("zlib cannot start inflating");  // 16: gzip only
    }
    ~Inflater() { ::inflateEnd(&z_); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    // Fills `out` with `n` bytes. False when the stream ended before the first of them; throws when it ends after.
    bool read(char* out, std::size_t n) {
        std::size_t got = 0;
        while (got < n) {
            if (ended_) {
                if (got == 0) return false;
                throw TarballError("the tarball ends inside an entry");
            }
            if (z_.avail_in == 0) fill();
            z_.next_out = reinterpret_cast<Bytef*>(out + got);
            z_.avail_out = static_cast<uInt>(n - got);
            const int rc = ::inflate(&z_, Z_NO_FLUSH);
            got = n - z_.avail_out;
            if (rc == Z_STREAM_END) ended_ = true;
            else if (rc == Z_BUF_ERROR && input_over_) throw TarballError("the gzip stream is cut short");
            else if (rc != Z_OK && rc != Z_BUF_ERROR)
                throw TarballError(std::string("not a gzip'd tarball: ") + (z_.msg ? z_.msg : "zlib error " + std::to_string(rc)));
        }
        return true;
    }

    void skip(std::uint64_t n) {
        std::array<char, 64 * 1024> scratch;
        while (n > 0) {
            const std::size_t part = static_cast<std::size_t>(std::min<std::uint64_t>(n, scratch.size()));
            if (!read(scratch.data(), part)) throw TarballError("the tarball ends inside an entry");
            n -= part;
        }
    }

private:
    void fill() {
        if (input_over_) return;
        ssize_t n;
        do {
            n = ::read(fd_, in_.data(), in_.size());
        } while (n < 0 && errno == EINTR);
        if (n < 0) throw std::system_error(errno, std::generic_category(), "cannot read the tarball");
        input_over_ = n == 0;
        z_.next_in = in_.data();
        z_.avail_in = static_cast<uInt>(n);
    }

    int fd_;
    z_stream z_{};
    std::array<unsigned char, 64 * 1024> in_{};
    bool ended_ = false, input_over_ = false;
};

// A numeric header field: octal digits (space or NUL ended), or base-256 when its first byte has the high bit set.
std::optional<std::uint64_t> number(const char* field, std::size_t n) {
    std::uint64_t v = 0;
    if (static_cast<unsigned char>(field[0]) & 0x80) {
        if (field[0] != '\x80') return std::nullopt;  // negative, or over 2^63
        for (std::size_t i = 1; i < n; ++i) {
            if (v >> 55) return std::nullopt;
            v = (v << 8) | static_cast<unsigned char>(field[i]);
        }
        return v;
    }
    std::size_t i = 0;
    while (i < n && field[i] == ' ') ++i;
    bool digits = false;
    for (; i < n && field[i] >= '0' && field[i] <= '7'; ++i, digits = true) {
        if (v >> 60) return std::nullopt;
        v = v * 8 + static_cast<std::uint64_t>(field[i] - '0');
    }
    if (i < n && field[i] != ' ' && field[i] != '\0') return std::nullopt;
    return digits ? std::optional(v) : std::nullopt;
}

std::string field_text(const char* field, std::size_t n) { return std::string(field, ::strnlen(field, n)); }

bool checksum_matches(const char* h) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < block; ++i) sum += i >= 148 && i < 156 ? ' ' : static_cast<unsigned char>(h[i]);
    auto stored = number(h + 148, 8);
    return stored && *stored == sum;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        std::uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (std::size_t k = 1; k < len; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d >> 6) != 2) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        static constexpr std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

// Why the path an entry names may not be unpacked ("" when it may), every segment judged, the first too.
std::string unsafe_path(std::string_view path) {
    if (path.empty()) return "its path is empty";
    if (path.front() == '/') return "its path is absolute";
    if (path.size() > max_path_bytes) return "its path is over " + std::to_string(max_path_bytes) + " bytes";
    if (!valid_utf8(path)) return "its path is not valid UTF-8";
    if (std::count(path.begin(), path.end(), '/') >= static_cast<std::ptrdiff_t>(max_segments))
        return "its path has more than " + std::to_string(max_segments) + " segments";
    for (std::size_t at = 0; at <= path.size();) {
        const std::size_t end = std::min(path.find('/', at), path.size());
        const std::string_view seg = path.substr(at, end - at);
        if (seg.empty()) return "its path has an empty segment";
        if (seg == "..") return "its path climbs out with \"..\"";
        if (seg == ".") return "its path has a \".\" segment";
        if (seg.front() == '.') return "its name \"" + std::string(seg) + "\" would be hidden (never served)";
        if (seg.size() > max_segment_bytes) return "a segment of its path is over " + std::to_string(max_segment_bytes) + " bytes";
        for (unsigned char c : seg) {
            if (c == '\\') return "its path holds a backslash";
            if (c < 0x20 || c == 0x7f) return "its path holds a control character";
        }
        at = end + 1;
    }
    return {};
}

// What a pax extended header ('x') says of the next entry: its path and size ("%d %s=%s\n" records).
void read_pax(std::string_view records, std::optional<std::string>& path, std::optional<std::uint64_t>& size) {
    while (!records.empty()) {
        const std::size_t space = records.find(' ');
        std::uint64_t len = 0;
        if (space == std::string_view::npos || space == 0 || space > 7) throw TarballError("a pax header record has no length");
        for (char c : records.substr(0, space)) {
            if (c < '0' || c > '9') throw TarballError("a pax header record's length is not a number");
            len = len * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (len <= space + 1 || len > records.size() || records[len - 1] != '\n') throw TarballError("a pax header record is malformed");
        const std::string_view record = records.substr(space + 1, len - space - 2);
        const std::size_t eq = record.find('=');
        if (eq == std::string_view::npos) throw TarballError("a pax header record has no '='");
        const std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
        if (key == "path") path = std::string(value);
        if (key == "size") {
            if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string_view::npos)
                throw TarballError("a pax header's size is not a number");
            size = std::stoull(std::string(value));
        }
        records.remove_prefix(len);
    }
}

const char* refused_kind(char type) {
    switch (type) {
        case '1': return "a hard link";
        case '2': return "a symbolic link";
        case '3': return "a character device";
        case '4': return "a block device";
        case '6': return "a FIFO";
        case 'K': return "a link's long target name";
        case 'S': return "a sparse file";
        case 'V': return "a volume label";
        default: return nullptr;
    }
}

// One file's bytes from the tarball into `dest`/`path`, synced.
void write_file(Inflater& in, const fsys::path& dest, const std::string& path, std::uint64_t size) {
    const fsys::path file = dest / path;
    fsys::create_directories(file.parent_path());
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + file.string());
    std::array<char, 64 * 1024> buf;
    try {
        for (std::uint64_t left = size; left > 0;) {
            const std::size_t part = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
            if (!in.read(buf.data(), part)) throw TarballError("the tarball ends inside an entry");
            for (std::size_t off = 0; off < part;) {
                const ssize_t w = ::write(fd, buf.data() + off, part - off);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) throw std::system_error(errno, std::generic_category(), "cannot write " + file.string());
                off += static_cast<std::size_t>(w);
            }
            left -= part;
        }
        if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "cannot sync " + file.string());
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

// The names seen so far: a path given twice, or as a file and as a folder, is refused.
struct Names {
    std::set<std::string, std::less<>> files, folders;
    std::size_t bytes = 0;  // of the names held

    std::string clash(const std::string& path, bool folder) {
        if (files.contains(path)) return "its path is given twice";
        if (!folder && folders.contains(path)) return "its path is also a folder's";
        for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
            if (files.contains(std::string_view(path).substr(0, slash))) return "it lies under a path that is a file";
        // (at most max_segments prefixes of at most max_path_bytes each: bounded per entry, and in all below)
        if (bytes > max_name_bytes) return "the tarball's names hold more than " + std::to_string(max_name_bytes) + " bytes";
        for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
            if (folders.emplace(path.substr(0, slash)).second) bytes += slash;
        if ((folder ? folders : files).insert(path).second) bytes += path.size();
        return {};
    }
};

// One entry's header, with what the pax or GNU headers before it said of its path and size.
struct Header {
    std::string name;
    std::uint64_t size = 0;
    char type = 0;
};

// The next entry's header, the headers that describe it read first; nullopt at the end of the archive. `where` names
// the entry for messages.
std::optional<Header> next_header(Inflater& in, std::uint64_t& headers, std::uint64_t& header_bytes, const TarballLimits& limits,
                                  const std::string& where) {
    std::optional<std::string> pax_path;
    std::optional<std::uint64_t> pax_size;
    std::array<char, block> h;
    for (;;) {
        if (!in.read(h.data(), block) || std::all_of(h.begin(), h.end(), [](char c) { return c == 0; })) {
            if (pax_path || pax_size) throw TarballError("the tarball ends after a header that describes no entry");
            return std::nullopt;  // the end-of-archive blocks (or the stream's end at a block boundary)
        }
        if (++headers > limits.max_entries * 2 + 16) throw TarballError(where + ": too many headers");
        if (!checksum_matches(h.data())) throw TarballError(where + ": its header is damaged (checksum)");
        Header out{field_text(h.data(), 100), 0, h[156]};
        std::optional<std::uint64_t> size = number(h.data() + 124, 12);
        if (!size) throw TarballError(where + ": its header's size is not a number");
        if (std::memcmp(h.data() + 257, "ustar", 5) == 0) {
            const std::string prefix = field_text(h.data() + 345, 155);
            if (!prefix.empty()) out.name = prefix + "/" + out.name;
        }
        if (out.type != 'x' && out.type != 'g' && out.type != 'L') {
            out.name = pax_path.value_or(out.name);
            out.size = pax_size.value_or(*size);
            return out;
        }
        // A header that describes the next entry (a global 'g' one: nothing npm uses).
        if (*size > max_header_body) throw TarballError(where + ": a header of " + std::to_string(*size) + " bytes");
        if ((header_bytes += *size) > max_header_bodies)
            throw TarballError(where + ": the pax and long-name headers hold more than " + std::to_string(max_header_bodies) + " bytes");
        std::string body(static_cast<std::size_t>(*size), '\0');
        if (!in.read(body.data(), body.size()) && !body.empty()) throw TarballError(where + ": the tarball ends inside an entry");
        in.skip((block - *size % block) % block);
        if (out.type == 'x') read_pax(body, pax_path, pax_size);
        if (out.type == 'L') pax_path = field_text(body.data(), body.size());
    }
}

}  // namespace

std::vector<TarballFile> unpack_npm_tarball(int fd, const fsys::path& dest, const TarballLimits& limits,
                                            const std::function<bool(std::string_view)>& keep) {
    Inflater in(fd);
    std::vector<TarballFile> out;
    Names names;
    std::uint64_t entries = 0, headers = 0, header_bytes = 0, total = 0;
    while (auto h = next_header(in, headers, header_bytes, limits, "entry " + std::to_string(entries + 1))) {
        std::string name = std::move(h->name);
        const std::uint64_t size = h->size, padding = (block - size % block) % block;
        const std::string named = "entry " + std::to_string(entries + 1) + " (\"" + name + "\")";
        if (++entries > limits.max_entries) throw TarballError(named + ": more than " + std::to_string(limits.max_entries) + " entries");
        if (const char* kind = refused_kind(h->type)) throw TarballError(named + ": is " + kind + "; only files and folders are unpacked");
        const bool folder = h->type == '5';
        if (!folder && h->type != '0' && h->type != '\0' && h->type != '7')
            throw TarballError(named + ": is an entry of unknown type '" + std::string(1, h->type) + "'");
        if (folder && name.ends_with('/')) name.pop_back();
        if (auto why = unsafe_path(name); !why.empty()) throw TarballError(named + ": " + why);
        const std::size_t slash = name.find('/');
        if (slash == std::string::npos && !folder) throw TarballError(named + ": is a file outside the package's folder");
        const std::string path = slash == std::string::npos ? std::string() : name.substr(slash + 1);
        if (auto why = path.empty() ? std::string() : names.clash(path, folder); !why.empty()) throw TarballError(named + ": " + why);
        if (folder && size != 0) throw TarballError(named + ": is a folder that holds " + std::to_string(size) + " bytes");
        if (folder) continue;  // (the package's folder itself, or one made anyway for the files under it)
        if (size > limits.max_entry_bytes)
            throw TarballError(named + ": holds " + std::to_string(size) + " bytes, over the bound of " + std::to_string(limits.max_entry_bytes));
        if (size > limits.max_total_bytes - total)
            throw TarballError(named + ": the files hold more than the " + std::to_string(limits.max_total_bytes) + " bytes allowed");
        total += size;
        if (keep(path)) write_file(in, dest, path, size);
        else in.skip(size);
        in.skip(padding);
        out.push_back({path, size});
    }
    return out;
}

}  // namespace modelhost::fs
