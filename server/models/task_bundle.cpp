// libzip (Debian's libzip-dev): the smallest zip reader in Debian that opens an archive from a buffer or a path
// and reads one entry's first bytes without inflating the rest.
#include "models/task_bundle.hpp"

#include <zip.h>

#include <fstream>
#include <memory>

namespace modelhost::models {

namespace {

struct ZipCloser {
    void operator()(zip_t* z) const { zip_discard(z); }
};
using Zip = std::unique_ptr<zip_t, ZipCloser>;

bool looks_like_html(std::string_view head) {
    std::size_t i = 0;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t')) ++i;
    return i < head.size() && head[i] == '<';
}

// Why an entry's name may not be extracted or looked up ("" when it may): MediaPipe finds entries by bare name.
std::string unsafe_entry_name(std::string_view name) {
    if (name.empty()) return "has an empty name";
    if (name.front() == '/' || name.find('\\') != std::string_view::npos) return "has an absolute or backslashed name";
    if (name == ".." || name.starts_with("../") || name.find("/../") != std::string_view::npos || name.ends_with("/.."))
        return "has a name that leaves the bundle (\"..\")";
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f) return "has a control character in its name";
    return {};
}

std::string shown(std::string_view name) {
    std::string out;
    for (unsigned char c : name.substr(0, 120)) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    return out;
}

// The first bytes of entry `i` (at most 8), or why they cannot be read.
std::string head_of(zip_t* z, zip_uint64_t i, std::string& head) {
    zip_file_t* f = zip_fopen_index(z, i, 0);
    if (!f) return std::string("cannot be opened (") + zip_strerror(z) + ")";
    char buf[8];
    zip_int64_t n = zip_fread(f, buf, sizeof buf);
    std::string why = n < 0 ? std::string("cannot be read (") + zip_file_strerror(f) + ")" : "";
    zip_fclose(f);
    if (n > 0) head.assign(buf, static_cast<std::size_t>(n));
    return why;
}

TaskEntry entry_of(zip_t* z, zip_uint64_t i, std::uint64_t archive_bytes) {
    TaskEntry e;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
        e.name = std::string("#").append(std::to_string(i)), e.problem = "has no readable directory record";
        return e;
    }
    e.name = shown(st.name);
    e.bytes = st.size, e.compressed = st.comp_size;
    e.tflite = std::string_view(st.name).ends_with(".tflite");
    if (e.problem = unsafe_entry_name(st.name); !e.problem.empty()) return e;
    if (e.name.ends_with('/')) return e;  // a folder entry
    if (st.comp_method != ZIP_CM_STORE) {
        e.problem = "is compressed (method " + std::to_string(st.comp_method) + ", " + std::to_string(st.comp_size) + " -> " +
                    std::to_string(st.size) + " bytes): MediaPipe reads only stored entries (zip -0)";
        return e;
    }
    if (st.size > archive_bytes) {
        e.problem = "declares " + std::to_string(st.size) + " bytes, more than the whole bundle holds";
        return e;
    }
    std::string head;
    if (e.problem = head_of(z, i, head); e.problem.empty() && e.tflite) e.problem = tflite_problem(head, st.size);
    return e;
}

TaskBundle read_zip(zip_source_t* src, std::string_view head, std::uint64_t size) {
    TaskBundle b;
    if (size == 0) {  // (libzip would open an empty file as a new, empty archive)
        zip_source_free(src);
        b.error = "the file is empty";
        return b;
    }
    zip_error_t err;
    zip_error_init(&err);
    Zip z(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err));
    if (!z) {
        zip_source_free(src);
        if (size >= 8 && tflite_problem(head, size).empty()) b.bare_tflite = true;
        else if (looks_like_html(head)) b.error = "holds an HTML page, not a zip: a host answering a missing file with its page?";
        else b.error = std::string("not a zip archive, or one cut short (libzip: ") + zip_error_strerror(&err) + ")";
        zip_error_fini(&err);
        return b;
    }
    zip_error_fini(&err);
    const zip_int64_t n = zip_get_num_entries(z.get(), 0);
    if (n < 0 || static_cast<std::uint64_t>(n) > max_task_entries) {
        b.error = "holds " + std::to_string(n) + " entries, more than the " + std::to_string(max_task_entries) + " a bundle may";
        return b;
    }
    for (zip_int64_t i = 0; i < n; ++i) b.entries.push_back(entry_of(z.get(), static_cast<zip_uint64_t>(i), size));
    if (b.entries.empty()) b.error = "an empty zip: it holds no model";
    return b;
}

}  // namespace

std::string tflite_problem(std::string_view head, std::uint64_t size) {
    if (looks_like_html(head)) return "holds an HTML page, not a TFLite model: a host answering a missing file with its page?";
    if (size < 8 || head.size() < 8) return "is " + std::to_string(size) + " bytes: too short for a TFLite model";
    if (head.substr(4, 4) != "TFL3") return "is not a TFLite model (no \"TFL3\" identifier at byte 4)";
    return {};
}

std::vector<std::string> TaskBundle::problems() const {
    std::vector<std::string> out;
    if (!error.empty()) out.push_back(error);
    for (const auto& e : entries)
        if (!e.problem.empty()) out.push_back("entry " + e.name + " " + e.problem);
    return out;
}

TaskBundle read_task(std::string_view bytes) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
    zip_error_fini(&err);
    if (!src) return {"cannot be read", false, {}};
    return read_zip(src, bytes.substr(0, 8), bytes.size());
}

TaskBundle read_task_file(const std::filesystem::path& file) {
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    std::ifstream in(file, std::ios::binary);
    char buf[8] = {};
    const auto got = in ? in.read(buf, sizeof buf).gcount() : 0;
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = ec ? nullptr : zip_source_file_create(file.c_str(), 0, -1, &err);
    zip_error_fini(&err);
    if (!src) return {"cannot be read", false, {}};
    return read_zip(src, std::string_view(buf, static_cast<std::size_t>(got)), size);
}

std::string tflite_file_problem(const std::filesystem::path& file) {
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    std::ifstream in(file, std::ios::binary);
    if (ec || !in) return "cannot be read";
    char buf[8] = {};
    const auto got = in.read(buf, sizeof buf).gcount();
    return tflite_problem(std::string_view(buf, static_cast<std::size_t>(got)), size);
}

}  // namespace modelhost::models
