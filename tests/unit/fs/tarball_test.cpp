// The npm tarball reader against tarballs made here: a package as npm packs it, and one hostile entry of each kind
// it must refuse, each refusal naming the entry.
#include "catch.hpp"

#include "fs/tarball.hpp"
#include "tarballs.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

using namespace modelhost;
using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

struct Unpacked {
    std::vector<fs::TarballFile> files;
    std::string error;
};

Unpacked unpack(const std::string& tgz, const fsys::path& dest, const fs::TarballLimits& limits = {},
                const std::function<bool(std::string_view)>& keep = [](std::string_view) { return true; }) {
    const fsys::path file = dest.parent_path() / "t.tgz";
    std::ofstream(file, std::ios::binary) << tgz;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    Unpacked out;
    try {
        out.files = fs::unpack_npm_tarball(fd, dest, limits, keep);
    } catch (const fs::TarballError& e) {
        out.error = e.what();
    }
    ::close(fd);
    return out;
}

std::string slurp(const fsys::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("tarball: a package as npm packs it is unpacked with package/ stripped", "[tarball]") {
    TempDir dir;
    const fsys::path dest = dir.path() / "out";
    fsys::create_directory(dest);
    const std::string long_name = "package/dist/" + std::string(120, 'a') + ".wasm";
    auto u = unpack(npm_tarball({{"package/package.json", R"({"name":"demo"})"},
                                 {"package/dist/", "", '5'},
                                 {"package/dist/x.wasm", std::string("\0asm\1\0\0\0", 8)},
                                 {long_name, "long", '0', "", true},
                                 {"package/empty.js", ""}}),
                    dest);
    INFO(u.error);
    REQUIRE(u.error.empty());
    REQUIRE(u.files.size() == 4);
    CHECK(slurp(dest / "package.json") == R"({"name":"demo"})");
    CHECK(slurp(dest / "dist/x.wasm") == std::string("\0asm\1\0\0\0", 8));
    CHECK(slurp(dest / long_name.substr(8)) == "long");
    CHECK(fsys::file_size(dest / "empty.js") == 0);
    CHECK(u.files[1].path == "dist/x.wasm");
    CHECK(u.files[1].size == 8);
}

TEST_CASE("tarball: a long name in ustar's prefix field, and GNU's long-name header, are read whole", "[tarball]") {
    TempDir dir;
    const fsys::path dest = dir.path() / "out";
    fsys::create_directory(dest);
    const std::string deep = "package/lib/onnxjs/ort-schema/flatbuffers/onnxruntime/fbs/deprecated-node-index-and-kernel-def-hash.js.map";
    const std::string gnu_name = "package/" + std::string(150, 'g') + ".js";
    std::string raw = tar({{deep, "prefixed"}});
    raw.resize(raw.size() - 1024);  // the end blocks go after the GNU entry
    raw += tar_header("././@LongLink", gnu_name.size() + 1, 'L') + padded(gnu_name + std::string(1, '\0'));
    raw += tar_header("package/cut-name", 3, '0') + padded("gnu") + std::string(1024, '\0');
    auto u = unpack(gzip(raw), dest);
    INFO(u.error);
    REQUIRE(u.error.empty());
    CHECK(slurp(dest / deep.substr(8)) == "prefixed");
    CHECK(slurp(dest / gnu_name.substr(8)) == "gnu");
}

TEST_CASE("tarball: keep chooses what is written, every entry is still checked", "[tarball]") {
    TempDir dir;
    const fsys::path dest = dir.path() / "out";
    fsys::create_directory(dest);
    auto keep_wasm = [](std::string_view p) { return p.ends_with(".wasm"); };
    auto u = unpack(npm_tarball({{"package/a.wasm", "w"}, {"package/b.js", "j"}}), dest, {}, keep_wasm);
    REQUIRE(u.error.empty());
    CHECK(fsys::exists(dest / "a.wasm"));
    CHECK_FALSE(fsys::exists(dest / "b.js"));
    CHECK(u.files.size() == 2);
    TempDir dir2;
    const fsys::path dest2 = dir2.path() / "out";
    fsys::create_directory(dest2);
    auto bad = unpack(npm_tarball({{"package/a.wasm", "w"}, {"package/../b.js", "j"}}), dest2, {}, keep_wasm);
    CHECK(bad.error.find("entry 2") != std::string::npos);
}

TEST_CASE("tarball: each hostile entry is refused, naming it", "[tarball]") {
    const std::string ok_first = "package/ok.js";
    struct Case {
        const char* what;
        std::vector<TarEntry> entries;
        const char* says;
    };
    const std::vector<Case> cases = {
        {"climbing out", {{"package/../../etc/x", "x"}}, "climbs out"},
        {"absolute", {{"/etc/passwd", "x"}}, "absolute"},
        {"symlink", {{"package/link", "", '2', "/etc/passwd"}}, "symbolic link"},
        {"hard link", {{"package/hard", "", '1', "package/ok.js"}}, "hard link"},
        {"char device", {{"package/dev", "", '3'}}, "character device"},
        {"block device", {{"package/blk", "", '4'}}, "block device"},
        {"FIFO", {{"package/fifo", "", '6'}}, "FIFO"},
        {"hidden", {{"package/.npmrc", "x"}}, "hidden"},
        {"hidden folder", {{"package/.git/config", "x"}}, "hidden"},
        {"duplicate", {{"package/ok.js", "again"}}, "given twice"},
        {"file and folder", {{"package/ok.js/inner", "x"}}, "under a path that is a file"},
        {"backslash", {{"package/a\\b", "x"}}, "backslash"},
        {"control character", {{"package/a\x01" "b", "x"}}, "control character"},
        {"invalid UTF-8", {{"package/a\xff", "x"}}, "UTF-8"},
        {"dot segment", {{"package/./a", "x"}}, "\".\" segment"},
        {"empty segment", {{"package//a", "x"}}, "empty segment"},
        {"file at the top", {{"toplevel", "x"}}, "outside the package"},
        {"unknown type", {{"package/z", "", 'Z'}}, "unknown type"},
        {"pax path climbing out under a plain name", {{"package/../../x", "x", '0', "", true}}, "climbs out"},
        {"folder holding bytes", {{"package/dir/", "xyz", '5'}}, "folder that holds"},
        {"too deep", {{"package/" + [] { std::string p; for (int i = 0; i < 40; ++i) p += "d/"; return p; }() + "f", "x"}}, "segments"},
        {"also a folder", {{"package/d/inner", "x"}, {"package/d", "x"}}, "also a folder's"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            TempDir dir;
            const fsys::path dest = dir.path() / "out";
            fsys::create_directory(dest);
            std::vector<TarEntry> entries{{ok_first, "ok"}};
            entries.insert(entries.end(), c.entries.begin(), c.entries.end());
            auto u = unpack(npm_tarball(entries), dest);
            INFO(u.error);
            CHECK(u.error.find("entry " + std::to_string(entries.size())) != std::string::npos);  // the last: the hostile one
            CHECK(u.error.find(c.says) != std::string::npos);
            // Nothing outside the folder it was given (an escape would land beside the test's folder).
            for (const auto& e : fsys::recursive_directory_iterator(dir.path()))
                CHECK((e.path().filename() == "t.tgz" || e.path().string().starts_with(dest.string())));
            CHECK_FALSE(fsys::exists(dir.path().parent_path() / "etc/x"));
            CHECK_FALSE(fsys::exists(dir.path().parent_path() / "x"));
        }
    }
}

TEST_CASE("tarball: the bounds, a damaged header and a cut stream are refused", "[tarball]") {
    TempDir dir;
    const fsys::path dest = dir.path() / "out";
    fsys::create_directory(dest);
    fs::TarballLimits limits;
    limits.max_entries = 2;
    CHECK(unpack(npm_tarball({{"package/a", "1"}, {"package/b", "2"}, {"package/c", "3"}}), dest, limits).error.find("more than 2 entries") !=
          std::string::npos);
    fsys::remove_all(dest), fsys::create_directory(dest);
    limits = {};
    limits.max_entry_bytes = 10;
    CHECK(unpack(npm_tarball({{"package/big", std::string(11, 'x')}}), dest, limits).error.find("over the bound") != std::string::npos);
    fsys::remove_all(dest), fsys::create_directory(dest);
    limits = {};
    limits.max_total_bytes = 15;
    auto over = unpack(npm_tarball({{"package/a", std::string(10, 'x')}, {"package/b", std::string(10, 'x')}}), dest, limits);
    CHECK(over.error.find("entry 2") != std::string::npos);
    CHECK(over.error.find("more than the 15 bytes") != std::string::npos);
    fsys::remove_all(dest), fsys::create_directory(dest);

    std::string raw = tar({{"package/a", "hello"}});
    raw[0] = 'q';  // the checksum no longer matches
    CHECK(unpack(gzip(raw), dest).error.find("checksum") != std::string::npos);
    fsys::remove_all(dest), fsys::create_directory(dest);
    const std::string whole = npm_tarball({{"package/a", std::string(5000, 'z')}});
    CHECK(unpack(whole.substr(0, whole.size() / 2), dest).error.find("cut short") != std::string::npos);
    fsys::remove_all(dest), fsys::create_directory(dest);
    CHECK(unpack("this is not gzip at all", dest).error.find("not a gzip'd tarball") != std::string::npos);
}
