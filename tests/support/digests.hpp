// Hex digests of test data, to compare with what the server or a tool computed.
#pragma once

#include <openssl/sha.h>

#include <string>

namespace modelhost::test {

inline std::string hex_of(const unsigned char* md, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += "0123456789abcdef"[md[i] >> 4], out += "0123456789abcdef"[md[i] & 15];
    return out;
}

inline std::string sha256_hex(const std::string& data) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
    return hex_of(md, sizeof md);
}

// What `git hash-object` prints for these bytes.
inline std::string git_blob_id(const std::string& data) {
    const std::string object = "blob " + std::to_string(data.size()) + std::string(1, '\0') + data;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(object.data()), object.size(), md);
    return hex_of(md, sizeof md);
}

}  // namespace modelhost::test
