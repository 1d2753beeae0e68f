// Sidecars are written to a temporary name, synced and renamed into place (fs/durable.hpp), so a server never sees half a file.
#include "tools/compress.hpp"

#include "base/args.hpp"
#include "fs/durable.hpp"

#include "http/encoding.hpp"
#include "http/gzip_cache.hpp"
#include "http/mime.hpp"

#include <brotli/encode.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace modelhost::tools {

namespace fsys = std::filesystem;

namespace {

void print_help() {
    std::printf(
        "Usage: modelhost compress DIR [--all] [--force]\n\n"
        "Writes x.br (brotli) and x.gz (gzip) beside each compressible file under DIR (JSON, JavaScript, text,\n"
        "wasm, SVG), skipping hidden files, existing sidecars, and codings that would not make the file smaller.\n"
        "`modelhost serve` then sends them to clients that accept them, with Content-Encoding and\n"
        "Vary: Accept-Encoding. Sidecars older than their file are ignored by the server.\n\n"
        "  --all     also try weight shards and other binary files\n"
        "  --force   rewrite sidecars that are already up to date\n\n"
        "Exit codes: 0 done, 1 a file could not be read or written, 2 bad usage.\n");
}

std::string brotli(const std::string& in) {
    std::string out(BrotliEncoderMaxCompressedSize(in.size()), '\0');
    std::size_t size = out.size();
    int quality = in.size() > (8u << 20) ? 9 : BROTLI_MAX_QUALITY;  // q11 on large shards takes minutes
    if (!BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                               reinterpret_cast<const uint8_t*>(in.data()), &size, reinterpret_cast<uint8_t*>(out.data())))
        return {};
    out.resize(size);
    return out;
}

// The sidecar reaches the disk before it takes its name (fs/durable.hpp): a server never sees half a file, even
// after a power loss.
// Returns why it failed ("" when written).
std::string write_sidecar(const fsys::path& target, const std::string& bytes) {
    try {
        fs::write_atomically(target, bytes);
        return {};
    } catch (const std::system_error& e) {
        return e.code().message() + fs::advice(e.code().value());
    }
}

bool hidden(const fsys::path& relative) {
    for (const auto& part : relative)
        if (part.string().starts_with('.')) return true;
    return false;
}

}  // namespace

int compress_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("compress", args, {{"--all", false}, {"--force", false}}, 1);
    if (!parsed.error.empty()) return usage_error("compress", parsed.error);
    if (parsed.help) return print_help(), 0;
    if (parsed.positionals.empty()) return usage_error("compress", "missing DIR, the folder to compress (see modelhost compress --help)");
    const std::string& dir = parsed.positionals[0];
    const bool all = parsed.has("--all"), force = parsed.has("--force");
    std::error_code ec;
    if (!fsys::is_directory(dir, ec)) return usage_error("compress", "DIR \"" + dir + "\" is not a directory");

    int failures = 0, written = 0;
    for (auto it = fsys::recursive_directory_iterator(dir, ec); !ec && it != fsys::recursive_directory_iterator(); it.increment(ec)) {
        const fsys::path& path = it->path();
        auto ext = path.extension().string();
        if (!it->is_regular_file() || it->is_symlink() || ext == ".br" || ext == ".gz" || hidden(fsys::relative(path, dir))) continue;
        if (!all && !http::compressible(http::mime_type(path.filename().string()))) continue;
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        if (!in) {
            std::fprintf(stderr, "%s: cannot read\n", path.c_str());
            ++failures;
            continue;
        }
        const std::string raw = ss.str();
        for (const char* coding : {".br", ".gz"}) {
            fsys::path target = path;
            target += coding;
            if (!force && fsys::exists(target) && fsys::last_write_time(target) >= fsys::last_write_time(path)) continue;
            std::string packed = std::string(coding) == ".br" ? brotli(raw) : http::gzip_compress(raw, 9);
            if (packed.empty() || packed.size() >= raw.size()) {
                std::printf("%s: %s would not be smaller, skipped\n", path.c_str(), coding + 1);
                continue;
            }
            if (auto why = write_sidecar(target, packed); !why.empty()) {
                std::fprintf(stderr, "%s: cannot write: %s\n", target.c_str(), why.c_str());
                ++failures;
                continue;
            }
            ++written;
            std::printf("%s: %zu -> %zu bytes\n", target.c_str(), raw.size(), packed.size());
        }
    }
    if (ec) std::fprintf(stderr, "%s: %s\n", dir.c_str(), ec.message().c_str());
    std::printf("%d sidecar(s) written, %d failure(s)\n", written, failures);
    return failures || ec ? 1 : 0;
}

}  // namespace modelhost::tools
