#include "mirror/npm_install.hpp"

#include "client/http_client.hpp"
#include "fs/digest.hpp"
#include "fs/durable.hpp"
#include "fs/tarball.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace modelhost::mirror {

namespace {

std::string hex(std::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes) out += "0123456789abcdef"[c >> 4], out += "0123456789abcdef"[c & 15];
    return out;
}

}  // namespace

std::string npm_document_url(const std::string& registry, std::string_view name) {
    std::string out = registry;
    for (char c : name) out += c == '/' ? std::string("%2f") : std::string(1, c);
    return out;
}

std::string foreign_tarball(const std::string& tarball, const std::string& registry) {
    if (!client::parse_http_url(tarball)) return "dist.tarball \"" + tarball + "\" is not an http:// or https:// URL";
    if (client::origin_of(tarball) != client::origin_of(registry))
        return "dist.tarball \"" + tarball + "\" is not on the registry's origin (" + client::origin_of(registry) +
               "), where a document may not send the fetch";
    return {};
}

std::string integrity_mismatch(int fd, std::uint64_t size, const std::string& integrity) {
    const auto want = models::sha512_of_integrity(integrity);
    if (!want) return "the integrity \"" + integrity + "\" names no SHA-512";
    const auto got = fs::digest_file(fs::Digest::sha512, fd, 0, size);
    if (!got) return "the tarball cannot be read back";
    if (*got != hex(*want)) return "its SHA-512 is " + *got + ", the integrity the registry lists is " + hex(*want);
    return {};
}

std::vector<std::string> unpack_npm_version(int fd, const std::filesystem::path& dest, const models::NpmVersion& version,
                                            std::string_view name, std::string_view exact,
                                            const std::function<bool(std::string_view)>& keep) {
    fs::TarballLimits limits;
    if (version.unpacked_size) limits.max_total_bytes = std::min(*version.unpacked_size, limits.max_total_bytes);
    std::vector<std::string> kept;
    const auto files = fs::unpack_npm_tarball(fd, dest, limits, [&](std::string_view path) {
        if (!keep(path)) return false;
        kept.emplace_back(path);
        return true;
    });
    if (version.file_count && files.size() > *version.file_count)
        throw fs::TarballError("the tarball holds " + std::to_string(files.size()) + " files, the registry lists " +
                               std::to_string(*version.file_count));
    const nlohmann::json record{{"name", name}, {"version", exact}, {"integrity", version.integrity}, {"files", kept}};
    fs::write_atomically(dest / std::string(models::npm_record_name),
                         record.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return kept;
}

}  // namespace modelhost::mirror
