// Digests read in 256 KiB blocks through OpenSSL's EVP interface.
#include "fs/digest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <vector>
#include <unistd.h>

namespace modelhost::fs {

namespace {

using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Context start(Digest d) {
    Context ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (ctx && EVP_DigestInit_ex(ctx.get(), d == Digest::sha256 ? EVP_sha256() : d == Digest::sha512 ? EVP_sha512() : EVP_sha1(), nullptr) != 1) ctx.reset();
    return ctx;
}

std::optional<std::string> finish(EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx, md, &length) != 1) return std::nullopt;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned i = 0; i < length; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
    return out;
}

}  // namespace

std::optional<std::string> digest_file(Digest d, int fd, std::uint64_t offset, std::uint64_t size, std::string_view prefix,
                                       const std::atomic<bool>* stop) {
    Context ctx = start(d);
    if (!ctx) return std::nullopt;
    EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
    std::vector<char> buf(256 * 1024);
    for (std::uint64_t at = 0; at < size;) {
        if (stop && stop->load(std::memory_order_relaxed)) return std::nullopt;
        ssize_t n = ::pread(fd, buf.data(), std::min<std::uint64_t>(buf.size(), size - at), static_cast<off_t>(offset + at));
        if (n <= 0) return std::nullopt;  // shrank or failed under us
        EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
        at += static_cast<std::uint64_t>(n);
    }
    return finish(ctx.get());
}

std::string digest_bytes(Digest d, std::string_view bytes) {
    Context ctx = start(d);
    if (!ctx) return {};
    EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
    return finish(ctx.get()).value_or(std::string());
}

std::optional<std::string> git_blob_id(int fd, std::uint64_t size, const std::atomic<bool>* stop) {
    std::string header = "blob " + std::to_string(size);
    header.push_back('\0');
    return digest_file(Digest::sha1, fd, 0, size, header, stop);
}

}  // namespace modelhost::fs
