// Pull-through mirrors (config `mirrors`): a request under a mirror's path for a file the root lacks is fetched from
// its upstream — once, however many requests ask for it at the same time (single flight) — into a hidden temporary
// file, renamed into place only when whole, and then served like any file. Stored files matching `revalidate`
// (model.json) are revalidated upstream once they are `revalidate_after` old; the rest (shards) are kept as they
// are. A cold file whose upstream announces its length is streamed to the requests waiting for it while it arrives.
// `max_bytes` bounds what a mirror stores (least recently used files go first); `offline` never asks upstream.
//
// The upstream is hostile, as for `modelhost fetch`: only the configured upstream is contacted (redirects followed at
// most 10 times, never from https to http, certificates verified), every file has a byte bound (a shard of a stored
// model.json: its group's declared bytes, and exactly that when the group has one shard), every transfer a deadline,
// and the number of transfers under way is bounded. A failed transfer leaves nothing on disk.
//
// State kept under the root, in the hidden folder `.mirror/` the server never serves, is shared by every process using
// the root (mirror/store.hpp): transfers under way, the index of stored files (the upstream's ETag and Last-Modified,
// when each was last checked and used, its size) and its journal, and the locks that make fills single-flight and
// eviction hold max_bytes across the processes.
#pragma once

#include "config/config.hpp"
#include "fs/growing_file.hpp"

#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::mirror {

// What the pipeline does with a request for a mirrored path.
struct Decision {
    enum class Kind {
        serve,  // serve the file from the root as any file (stored and fresh, stale after a failed check, or offline)
        stream, // an upstream transfer is under way and its length known: send `growing` as it arrives
        wait,   // an upstream transfer is under way: call `join`, then ask again once it has called back
        fail,   // answer `status`: 404 (upstream said so; remembered), 502 (upstream failed), 503 (too many
                // transfers under way), 504 (upstream too slow)
    };
    Kind kind = Kind::serve;
    unsigned status = 0;
    std::string note;  // for the access log ("mirror: fetched from upstream", "mirror: stale, upstream failed: ...")
    // For `wait`: registers a function to run once, on the transfer's thread, when the transfer has its length (the
    // answer may then stream) or has ended.
    std::function<void(std::function<void()>)> join{};
    // For `stream`: the file being written, and the upstream's Last-Modified (0 when none).
    std::shared_ptr<const fs::GrowingFile> growing{};
    std::time_t last_modified = 0;
};

// What a file must be when its upstream lists it beforehand (a hub's revision answer): exactly `size` bytes, and, when
// `sha256` is set, those bytes' SHA-256 (hex), checked before the file is installed.
struct Expected {
    std::optional<std::uint64_t> size;
    std::string sha256;
    std::string blob_id;  // else git's object id of the bytes (hex SHA-1), when set
};

class Mirrors {
public:
    // Loads what earlier runs stored (`root`/.mirror/index.json). Throws std::system_error when `root`/.mirror cannot
    // be made. `unpacks`: which files of an npm mirror's tarballs are unpacked (all when unset).
    Mirrors(const std::vector<config::MirrorConfig>& rules, const std::filesystem::path& root,
            std::function<bool(std::string_view path)> unpacks = {});
    ~Mirrors();
    Mirrors(const Mirrors&) = delete;
    Mirrors& operator=(const Mirrors&) = delete;

    // True when `path` (a decoded, normalised request path) lies under a mirror's path.
    bool covers(std::string_view path) const;

    // For a path that `covers` whose file the lookup did not find though `decide` said serve: true when the file is
    // indeed gone (another process sharing the root evicted it meanwhile; any record of it is forgotten), so `decide`
    // fills it again; false when offline.
    bool vanished(std::string_view path) const;

    // For a path that `covers`: `query` is the request's raw query (sent upstream with the path). With `may_wait`
    // false (asking again after a wait) a stale stored file is served without a new check and a remembered failure
    // answers; a file the last transfer stored but that was evicted since is fetched again.
    // `expected`: what the file must be (a huggingface mirror's file, from the revision answer).
    // Under an npm mirror a file of {path}{package}@{version}/ waits for the whole version (its tarball fetched once,
    // checked and unpacked), and is served from then on; any other path is the package's document ({upstream}{package}).
    Decision decide(std::string_view path, std::string_view query, bool may_wait, const Expected& expected = {}) const;

    // The mirror covering `path` (which `covers`).
    const config::MirrorConfig& rule_for(std::string_view path) const;
    // Where a mirrored path is stored under the root.
    std::filesystem::path file_of(std::string_view path) const;

    // Drops every connection waiting on a transfer (and on a file still arriving) and lets no transfer call one any
    // more; transfers still running finish on their own. Called before the event loop the connections live on ends.
    void close();

private:
    struct State;
    std::shared_ptr<State> state_;  // shared with the transfer threads, which may outlive this object
};

}  // namespace modelhost::mirror
