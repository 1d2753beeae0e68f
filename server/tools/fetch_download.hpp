// One file of a fetch: downloaded through a .part file beside it, resumed from the bytes an earlier attempt or run
// kept (Range with If-Range, RFC 9110 §14.2 and §13.1.5), retried with backoff when the network fails, installed into
// the work folder only when whole. The model-level fetch (work folder, manifest, shards, install) is fetch.cpp.
#pragma once

#include "client/http_client.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace modelhost::tools {

// A failure that ends the fetch; the message is printed as is. `resumable`: the network (or the disk) failed, the
// bytes kept so far are still good, so the work folder stays for the next run to continue from.
struct FetchError : std::runtime_error {
    explicit FetchError(const std::string& what, bool keep = false) : std::runtime_error(what), resumable(keep) {}
    bool resumable;
};

// A work-folder file's text ("" when absent), and a write of one synced before its rename (fs/durable.hpp).
std::string read_text(const std::filesystem::path& p);
void write_text(const std::filesystem::path& p, const std::string& text);

// GETs `url` into `file` (at most `max_bytes`) by the client's redirect rule, continuing from the bytes kept in
// `file`.part; three attempts for a network failure or a 5xx. Throws FetchError (resumable when the bytes kept are
// still good: the network or the disk failed).
void download(const std::string& url, const std::filesystem::path& file, std::uint64_t max_bytes,
              const client::ClientOptions& client);

// What one kind of upstream (TF.js, Hugging Face) gives the shared fetch (fetch.cpp: the work folder, resuming,
// installing): whose bytes a work folder holds, the folder's default name, and how to fill and verify it.
struct Source {
    std::string id;     // written to the work folder's .source: a folder kept from another id is emptied first
    std::string name;   // the folder under the root when --name is not given
    std::string entry;  // the file the "installed" line points at ("model.json"), or "" for the folder
    // Downloads into the work folder and verifies every byte; returns what it holds ("3 files, 12 bytes"). Throws
    // FetchError (resumable when the bytes kept are still good).
    std::function<std::string(const std::filesystem::path& tmp)> fill;
};

// One file of a fetch: where it goes in the work folder (a validated relative path), where it comes from, and the
// most bytes it may hold.
struct FetchFile {
    std::string path;
    std::string url;
    std::uint64_t max_bytes = 0;
};

// Whether `path` is fetched: it matches an `include` glob (every path when there is none) and no `exclude` glob,
// fnmatch over the whole path with '*' crossing '/', as huggingface_hub's allow_patterns do.
bool selected(const std::vector<std::string>& include, const std::vector<std::string>& exclude, const std::string& path);

// Every file into the work folder `tmp` (download, `concurrency` at a time; 1 at least), with progress on stdout;
// files an earlier run left whole are kept. Rethrows the first failure; the others stop at their next file.
void download_files(const std::vector<FetchFile>& files, const std::filesystem::path& tmp, unsigned concurrency,
                    const client::ClientOptions& client);

}  // namespace modelhost::tools
