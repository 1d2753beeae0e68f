// The Hugging Face hub's revision answer (GET /api/models/{repo}/revision/{rev}?blobs=true) as typed facts: the
// commit and every file with its size, LFS SHA-256 and git blob id. Read as hostile: fetch and the huggingface mirror
// both ask this reader, never the JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

struct HfSibling {
    std::string path;     // a safe relative path (unsafe_shard_path's rules)
    std::uint64_t size = 0;
    std::string sha256;   // LFS files: 64 hex digits; else empty
    std::string blob_id;  // git's object id (40 hex), when the hub gave one
};

struct HfRevision {
    std::string commit;                 // 40 hex digits
    std::vector<HfSibling> files;       // in the hub's order, each path once
    std::vector<std::string> skipped;   // hidden files (.gitattributes), never served: "path (hidden)"
    std::string error;                  // why the answer is refused, naming the sibling; "" when it may be used
    std::size_t listed = 0;             // siblings in the answer

    bool ok() const { return error.empty(); }
    const HfSibling* find(std::string_view path) const;
};

inline constexpr std::uint64_t max_hf_revision_bytes = 16u << 20;  // a revision answer larger than this is refused
inline constexpr std::size_t max_hf_siblings = 50000;
inline constexpr std::size_t max_hf_json_values = 500000;  // values of any kind kept while parsing: memory stays bounded

// `json` read as the hub writes it: an object with a 40-hex "sha" and a "siblings" array of objects, each with an
// "rfilename" that is a safe relative path (no "..", ".", empty segment, backslash, colon, control character, NUL or
// encoded escape; a hidden one is skipped), an unsigned "size", and for LFS an "lfs" object with a 64-hex "sha256"
// and the same size. The first problem found is the error; then `files` holds nothing to trust.
HfRevision read_hf_revision(std::string_view json);

}  // namespace modelhost::models
