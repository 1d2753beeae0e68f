// One mutex guards the bookkeeping of this process (transfers under way, remembered failures); what is stored is the
// Store's (mirror/store.hpp), shared with the other processes using the root. Transfers run on their own threads
// with the blocking client and take the lock only to start, to stream and to finish.
#include "mirror/mirror.hpp"
#include "mirror/store.hpp"

#include "base/glob.hpp"
#include "base/parsed_files.hpp"
#include "client/http_client.hpp"
#include "fs/durable.hpp"
#include "base/http_date.hpp"
#include "log/logging.hpp"
#include "fs/digest.hpp"
#include "models/hf_revision.hpp"
#include "models/manifest.hpp"
#include "models/npm_package.hpp"
#include "mirror/npm_install.hpp"

#include <nlohmann/json.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <set>
#include <map>
#include <mutex>
#include <thread>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::mirror {

namespace fsys = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

constexpr std::size_t max_transfers = 32;                  // under way at once, all mirrors together
constexpr auto failure_memory = std::chrono::seconds(1);   // what answers the requests that waited for a failed transfer
constexpr std::size_t max_failures = 10000;                // remembered at once (a client asking for many missing files)
constexpr auto transfer_stop_wait = std::chrono::seconds(16);  // a stopping server waits for its transfers (one socket wait: 15 s)

// What npm sends for a package's document: the abbreviated one when the registry has it (no READMEs), else the full.
constexpr const char* npm_accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

// The decoded path as it goes into the upstream URL: path characters and '/' kept, the rest percent-encoded.
std::string encode_path(std::string_view decoded) {
    static constexpr auto path_chars = boost::urls::pchars + '/';
    return boost::urls::encode(decoded, path_chars);
}

struct Failure {
    unsigned status;
    std::string note;
    Clock::duration memory;   // how long it is remembered, from when the transfer ends
    Clock::time_point until;  // set then
};

struct Transfer {
    std::vector<std::function<void()>> waiters;
    std::shared_ptr<const fs::GrowingFile> growing;  // set once a cold file's length is known: it streams from then on
    std::time_t last_modified = 0;
};

}  // namespace

struct Mirrors::State {
    std::vector<config::MirrorConfig> rules;
    fsys::path root;
    std::mutex lock;
    std::map<std::string, std::shared_ptr<Transfer>, std::less<>> transfers;
    std::map<std::string, Failure, std::less<>> failures;
    std::unique_ptr<Store> store;  // what is stored, shared with the other processes using the root
    fs::FolderSyncs folder_syncs;  // fills landing in one folder at once share its sync
    bool closed = false;  // Mirrors::close(): no waiter runs any more
    std::atomic<bool> ending{false};  // ~Mirrors: transfers under way stop at their next bytes
    unsigned threads = 0;             // transfer threads running (under `lock`)
    std::condition_variable threads_done;
    std::function<bool(std::string_view)> unpacks;  // which files of an npm tarball are unpacked

    // A file of an npm mirror's {path}{package}@{version}/: the version (its folder, `unit`) is filled at once.
    struct PackageFile {
        std::string unit, name, version, file;
    };
    std::optional<PackageFile> package_of(const config::MirrorConfig& r, std::string_view path) const {
        if (r.kind != config::MirrorConfig::Kind::npm) return std::nullopt;
        auto ref = models::npm_version_file(path.substr(r.path.size()));
        if (!ref) return std::nullopt;
        return PackageFile{r.path + std::string(ref->name) + "@" + std::string(ref->spec) + "/", std::string(ref->name),
                           std::string(ref->spec), std::string(ref->path)};
    }
    // The files an unpacked version's record lists (its own path included); null when there is none (never unpacked,
    // or evicted). Parsed once per version of the record, outside `lock`.
    using Listing = std::set<std::string, std::less<>>;
    ParsedFiles<std::optional<Listing>> records{64u << 20, [](std::string_view text) -> std::optional<Listing> {
        const auto record = nlohmann::json::parse(text, nullptr, false);
        if (!record.is_object() || !record.contains("files") || !record["files"].is_array()) return std::nullopt;
        Listing files;
        for (const auto& f : record["files"])
            if (f.is_string()) files.insert(f.get<std::string>());
        return files;
    }};
    std::shared_ptr<const std::optional<Listing>> unpacked(const PackageFile& p) const {
        return records.get(file_of(p.unit + std::string(models::npm_record_name)));
    }

    const config::MirrorConfig* rule_for(std::string_view path) const {
        for (const auto& r : rules)
            if (path.starts_with(r.path)) return &r;
        return nullptr;
    }
    fsys::path file_of(std::string_view path) const { return root / fsys::path(std::string(path.substr(1))); }
    // A hub's files are stored per commit and never change; only its answers for a branch or tag (which move) are
    // asked again, not those for a commit id.
    bool revalidates(const config::MirrorConfig& r, std::string_view path) const {
        if (r.kind == config::MirrorConfig::Kind::huggingface) {
            const auto rev = path.substr(path.rfind('/') + 1);
            const bool commit = rev.size() == 40 && rev.find_first_not_of("0123456789abcdef") == std::string_view::npos;
            return is_revision_answer(r, path) && !commit;
        }
        if (r.kind == config::MirrorConfig::Kind::npm) return !package_of(r, path);  // a package's document: tags move
        auto name = path.substr(path.rfind('/') + 1);
        for (const auto& g : r.revalidate)
            if (glob_match(g, g.find('/') == std::string::npos ? name : path)) return true;
        return false;
    }

    // A huggingface mirror's revision answer ({path}api/models/...): read whole, never streamed.
    static bool is_revision_answer(const config::MirrorConfig& r, std::string_view path) {
        return r.kind == config::MirrorConfig::Kind::huggingface && path.substr(r.path.size()).starts_with("api/models/");
    }
    // A listing the mirror reads itself (a revision answer, an npm package's document): read whole, never streamed.
    bool is_document(const config::MirrorConfig& r, std::string_view path) const {
        return is_revision_answer(r, path) || (r.kind == config::MirrorConfig::Kind::npm && !package_of(r, path));
    }

    std::uint64_t limit_for(const config::MirrorConfig& r, const std::string& path, bool& exact) const;
    void run(const config::MirrorConfig& r, std::string path, std::string query, std::optional<Entry> stored,
             std::shared_ptr<Transfer> transfer, Expected expected);
    client::HttpResponse request(const config::MirrorConfig& r, const std::string& path, const std::string& query,
                                 const std::optional<Entry>& stored, Transfer& transfer, const fsys::path& tmp,
                                 std::shared_ptr<fs::GrowingFile>& growing, std::optional<std::uint64_t>& exact,
                                 const Expected& expected);
    void start_streaming(Transfer& transfer, std::shared_ptr<const fs::GrowingFile> growing, std::time_t last_modified);
    void install(const config::MirrorConfig& r, const std::string& path, const fsys::path& tmp, Entry e);
    void finish(const std::string& path, std::optional<Failure> failure);
    Decision decide_package(const config::MirrorConfig& r, const PackageFile& p, bool may_wait,
                            const std::shared_ptr<const std::optional<Listing>>& listed, const std::shared_ptr<State>& self);
    Decision launch(const std::string& key, std::function<void(State&, std::shared_ptr<Transfer>)> work,
                    const std::shared_ptr<State>& self);
    void run_package(const config::MirrorConfig& r, const PackageFile& p);
    std::optional<Failure> fill_package(const config::MirrorConfig& r, const PackageFile& p, const fsys::path& tarball,
                                        const fsys::path& folder);
};

// The most bytes the file may hold: a shard listed by the stored model.json beside it (or above it) may hold its
// group's declared bytes (`exact` when the group has just this shard); a revalidated file (model.json) 64 MiB;
// anything else max_file_bytes.
std::uint64_t Mirrors::State::limit_for(const config::MirrorConfig& r, const std::string& path, bool& exact) const {
    exact = false;
    if (is_revision_answer(r, path)) return std::min(r.max_file_bytes, models::max_hf_revision_bytes);
    if (r.kind == config::MirrorConfig::Kind::huggingface) return r.max_file_bytes;  // (Expected bounds a listed file)
    if (r.kind == config::MirrorConfig::Kind::npm) return std::min<std::uint64_t>(r.max_file_bytes, models::max_npm_document_bytes);
    if (revalidates(r, path)) return std::min(r.max_file_bytes, models::max_manifest_bytes);
    for (auto dir = path.substr(0, path.rfind('/')); dir.size() + 1 > r.path.size(); dir = dir.substr(0, dir.rfind('/'))) {
        auto text = models::manifest_file_text(file_of(dir + "/model.json"));
        if (!text) continue;
        const models::Manifest doc = models::read_manifest(*text);
        for (const auto& g : doc.groups) {
            for (const auto& p : g.paths) {
                if (!p.is_string || dir + "/" + p.path != path) continue;
                if (!g.declared_bytes) return r.max_file_bytes;
                exact = g.paths.size() == 1;
                return std::min(*g.declared_bytes, r.max_file_bytes);
            }
        }
        return r.max_file_bytes;  // the nearest model.json does not list it (or cannot be read)
    }
    return r.max_file_bytes;
}

namespace {

// A listed file's bytes against the hash its upstream listed (a hub's LFS SHA-256, else its git blob id), before it
// is installed.
void verify(const fsys::path& tmp, std::uint64_t size, const Expected& expected) {
    if (expected.sha256.empty() && expected.blob_id.empty()) return;
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    const bool lfs = !expected.sha256.empty();
    std::optional<std::string> got;
    if (fd >= 0) got = lfs ? fs::digest_file(fs::Digest::sha256, fd, 0, size) : fs::git_blob_id(fd, size);
    if (fd >= 0) ::close(fd);
    const std::string& want = lfs ? expected.sha256 : expected.blob_id;
    if (got != want)
        throw client::HttpError(std::string(lfs ? "SHA-256 " : "git blob id ") + got.value_or("(unreadable)") + " is not the " +
                                want + " the revision lists");
}

// Why a transfer failed, as the client will answer: 404 remembered for not_found_ttl, 502/504 for a few seconds.
Failure failure(unsigned status, std::string note, Clock::duration memory) {
    return {status, std::move(note), memory, {}};
}

}  // namespace

// The upstream request (conditional when `stored`) into `tmp`. Once a cold file's length is known, `growing` is
// made and handed to the requests that stream it; `exact` is set when the manifest fixes the file's size.
client::HttpResponse Mirrors::State::request(const config::MirrorConfig& r, const std::string& path, const std::string& query,
                                             const std::optional<Entry>& stored, Transfer& transfer, const fsys::path& tmp,
                                             std::shared_ptr<fs::GrowingFile>& growing, std::optional<std::uint64_t>& exact,
                                             const Expected& expected) {
    client::ClientOptions options;
    options.ca_file = r.ca_file;
    options.user_agent = "modelhost-mirror";
    options.deadline = client::deadline_after(r.timeout);
    bool fixed = false;
    client::DownloadTarget target{tmp.string(), limit_for(r, path, fixed), 0, {}, {}, {}};
    if (fixed) exact = target.max_bytes;
    if (expected.size) {
        if (*expected.size > r.max_file_bytes)
            throw client::BodyTooLarge(path + ": listed with " + std::to_string(*expected.size) + " bytes, over max_file_bytes");
        exact = target.max_bytes = *expected.size;
    }
    if (r.kind == config::MirrorConfig::Kind::npm) target.headers.emplace_back("Accept", npm_accept);
    if (stored && !stored->etag.empty()) target.headers.emplace_back("If-None-Match", stored->etag);
    if (stored && !stored->last_modified.empty()) target.headers.emplace_back("If-Modified-Since", stored->last_modified);
    std::string url = r.kind == config::MirrorConfig::Kind::npm ? npm_document_url(r.upstream, std::string_view(path).substr(r.path.size()))
                                                                : r.upstream + encode_path(std::string_view(path).substr(r.path.size()));
    if (!query.empty()) url += "?" + query;
    target.on_head = [&](const client::HttpResponse& head) {
        auto lengths = head.all("Content-Length");  // Beast checked its syntax
        if (head.status != 200 || stored || lengths.size() != 1 || is_document(r, path)) return;  // chunked: whole
        const std::uint64_t length = std::stoull(lengths[0]);
        if (exact && length != *exact)
            throw client::HttpError(url + ": announces " + lengths[0] + " bytes, the manifest declares " + std::to_string(*exact));
        int fd = ::open(tmp.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return;
        growing = std::make_shared<fs::GrowingFile>(std::make_shared<fs::OpenFile>(fd), length);
        auto modified = head.all("Last-Modified");
        auto when = modified.size() == 1 ? parse_http_date(modified[0]) : std::nullopt;
        start_streaming(transfer, growing, when.value_or(0));
    };
    // The last byte is held back until the file is installed: a client that has the whole file can count on the next
    // request (for a shard its model.json bounds, say) finding it stored.
    target.on_progress = [&] {
        if (ending.load(std::memory_order_relaxed)) throw client::HttpError("the server is stopping");
        struct stat st {};
        if (!growing || growing->size() == 0 || ::fstat(growing->file()->fd(), &st) != 0) return;
        growing->grew(std::min(static_cast<std::uint64_t>(st.st_size), growing->size() - 1));
    };
    return client::get_following_redirects(url, target, options);  // the client's redirect rule
}

// The transfer's thread: fetch (or revalidate `stored`), install or remember the failure, wake the waiters.
void Mirrors::State::run(const config::MirrorConfig& r, std::string path, std::string query, std::optional<Entry> stored,
                         std::shared_ptr<Transfer> transfer, Expected expected) {
    const fsys::path tmp = store->temporary();
    std::optional<Failure> failed;
    std::shared_ptr<fs::GrowingFile> growing;  // the file as it arrives, for the requests streaming it
    try {
        // Single flight across the processes sharing the root: the one that fills, the others wait for it.
        const auto deadline = client::deadline_after(r.timeout);
        auto fill = store->lock_fill(path, deadline);
        if (!fill) throw client::TimedOut("another modelhost process sharing the root is still filling " + path);
        if (stored && !fsys::is_regular_file(file_of(path))) stored.reset();  // evicted meanwhile: a cold fill, not a 304
        auto now = store->use(path);
        const bool done_meanwhile = now && (!stored || now->checked > stored->checked) && fsys::is_regular_file(file_of(path));
        std::optional<std::uint64_t> exact;
        client::HttpResponse res;
        if (!done_meanwhile) res = request(r, path, query, stored, *transfer, tmp, growing, exact, expected);
        if (done_meanwhile) {
            // it filled (or revalidated) the file meanwhile: nothing to ask upstream
        } else if (res.status == 304 && stored) {
            store->checked(path);
        } else if (res.status == 200) {
            std::uint64_t size = fsys::file_size(tmp);
            if (exact && size != *exact)
                throw client::HttpError(path + ": the upstream sent " + std::to_string(size) + " bytes, " +
                                        (expected.size ? "the revision lists " : "the manifest declares ") + std::to_string(*exact));
            verify(tmp, size, expected);
            auto header = [&](const char* name) { auto v = res.all(name); return v.size() == 1 ? v[0] : std::string(); };
            install(r, path, tmp, Entry{header("ETag"), header("Last-Modified"), Clock::now(), Clock::now(), size});
            if (growing) growing->grew(size);
        } else {
            // (The hub answers 401 for a repository that does not exist, or is private, to a request without a token.)
            const bool gone = res.status == 404 || res.status == 410 ||
                              (is_revision_answer(r, path) && (res.status == 401 || res.status == 403));
            failed = failure(gone ? 404 : 502, "mirror: upstream answered " + std::to_string(res.status),
                             gone ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(r.not_found_ttl)) : failure_memory);
        }
    } catch (const client::TimedOut& e) {
        failed = failure(504, std::string("mirror: ") + e.what(), failure_memory);
    } catch (const client::FileError& e) {  // the disk's failure: remembered a second like any, then tried again
        failed = failure(502, std::string("mirror: ") + e.what() + fs::advice(e.error), failure_memory);
    } catch (const std::system_error& e) {  // a store file that cannot be made, synced, renamed or recorded
        failed = failure(502, std::string("mirror: ") + e.what() + fs::advice(e.code().value()), failure_memory);
    } catch (const std::exception& e) {  // HttpError, BodyTooLarge
        failed = failure(502, std::string("mirror: ") + e.what(), failure_memory);
    }
    std::error_code ec;
    fsys::remove(tmp, ec);  // (already renamed when installed)
    const bool gone = failed.has_value();
    if (failed) log::warn("{} for {}", failed->note, path);
    finish(path, std::move(failed));
    // Only now do the requests streaming it end their connections (or streams): a request made after one of them saw
    // the cut finds the failure remembered and nothing left behind.
    if (gone && growing) growing->fail();
}

// The cold file's length is known: requests from now on stream it, and those waiting are woken to do so.
void Mirrors::State::start_streaming(Transfer& transfer, std::shared_ptr<const fs::GrowingFile> growing, std::time_t last_modified) {
    std::lock_guard g(lock);  // waiters run under the lock: none after close() (they only post to their connection)
    if (closed) growing->close();
    transfer.growing = std::move(growing);
    transfer.last_modified = last_modified;
    for (auto& w : transfer.waiters) w();
    transfer.waiters.clear();
}

// Renames the whole file into place (a changed model.json takes the shards of its old manifest with it: they are
// fetched again for the new one), records it, and evicts to stay within max_bytes over every process.
void Mirrors::State::install(const config::MirrorConfig& r, const std::string& path, const fsys::path& tmp, Entry e) {
    const fsys::path dest = file_of(path);
    fsys::create_directories(dest.parent_path());
    // The upstream's Last-Modified becomes the file's mtime: mirrors of one upstream then agree on Last-Modified and
    // on the ETag (size + mtime), so a shared cache can revalidate against any of them.
    if (auto modified = parse_http_date(e.last_modified)) {
        std::error_code ec;
        fsys::last_write_time(tmp, fsys::file_time_type::clock::from_sys(std::chrono::system_clock::from_time_t(*modified)), ec);
    }
    fs::sync_file(tmp);  // on disk before it takes its name (fs/durable.hpp)
    std::vector<std::string> drop;
    if (r.kind == config::MirrorConfig::Kind::tfjs && path.ends_with("/model.json") && store->use(path)) {
        for (auto& p : store->stored_under(path.substr(0, path.rfind('/') + 1)))
            if (p != path && !revalidates(r, p)) drop.push_back(std::move(p));
    }
    store->install(path, tmp, std::move(e), r.max_bytes, drop);
    try {
        folder_syncs.sync(dest.parent_path());  // the rename on disk before a client is told the file is whole
    } catch (const std::system_error& x) {  // installed and recorded all the same: served, though not yet durable
        log::warn("mirror: {}", x.what());
    }
}

// The transfer is over: forget it (a failure is remembered instead) and run every waiter (under the lock, as in
// start_streaming).
void Mirrors::State::finish(const std::string& path, std::optional<Failure> failed) {
    {
        std::lock_guard g(lock);
        auto it = transfers.find(path);
        for (auto& w : it->second->waiters) w();
        transfers.erase(it);
        for (auto f = failures.begin(); f != failures.end();)  // drop what has expired
            f = f->second.until < Clock::now() ? failures.erase(f) : std::next(f);
        if (failed && failures.size() >= max_failures && !failures.contains(path))  // full: the soonest to expire goes
            failures.erase(std::min_element(failures.begin(), failures.end(),
                                            [](const auto& a, const auto& b) { return a.second.until < b.second.until; }));
        if (failed) {
            failed->until = Clock::now() + failed->memory;
            failures[path] = std::move(*failed);
        } else {
            failures.erase(path);
        }
    }
}

Mirrors::Mirrors(const std::vector<config::MirrorConfig>& rules, const fsys::path& root,
                 std::function<bool(std::string_view)> unpacks)
    : state_(std::make_shared<State>()) {
    state_->rules = rules;
    state_->unpacks = unpacks ? std::move(unpacks) : [](std::string_view) { return true; };
    state_->root = root;
    if (rules.empty()) return;
    std::vector<std::string> prefixes;
    for (const auto& r : rules) prefixes.push_back(r.path);
    state_->store = std::make_unique<Store>(root, std::move(prefixes));
}

// Transfers under way stop at their next bytes, and are waited for up to `transfer_stop_wait` (an upstream that
// sends nothing holds its thread until the client's socket wait ends): no thread of a stopped server is left behind,
// in an app that embeds it. One still waiting then holds the state until it ends. The store's final compaction runs
// here, on the stopping thread, so it is never cut off by the process's exit.
Mirrors::~Mirrors() {
    close();
    state_->ending = true;
    {
        std::unique_lock g(state_->lock);
        state_->threads_done.wait_for(g, transfer_stop_wait, [&] { return state_->threads == 0; });
    }
    if (state_->store) state_->store->close();
}

void Mirrors::close() {
    std::lock_guard g(state_->lock);
    state_->closed = true;
    for (auto& [path, transfer] : state_->transfers) {
        transfer->waiters.clear();  // the connections they hold go now, on this thread, while their event loop exists
        if (transfer->growing) transfer->growing->close();
    }
}

bool Mirrors::covers(std::string_view path) const { return state_->rule_for(path) != nullptr; }

bool Mirrors::vanished(std::string_view path) const {
    return !state_->rule_for(path)->offline && state_->store->forget_if_gone(std::string(path));
}

const config::MirrorConfig& Mirrors::rule_for(std::string_view path) const { return *state_->rule_for(path); }

fsys::path Mirrors::file_of(std::string_view path) const { return state_->file_of(path); }

Decision Mirrors::decide(std::string_view path, std::string_view query, bool may_wait, const Expected& expected) const {
    State& s = *state_;
    const config::MirrorConfig& r = *s.rule_for(path);
    if (r.offline) return {Decision::Kind::serve, 0, "mirror: offline", {}};
    const auto now = Clock::now();
    if (auto package = s.package_of(r, path)) {
        auto listed = s.unpacked(*package);  // (read before the lock: every mirror's decisions wait on it)
        std::lock_guard g(s.lock);
        return s.decide_package(r, *package, may_wait, listed, state_);
    }
    std::lock_guard g(s.lock);
    const std::optional<Entry> stored = s.store->use(std::string(path));
    std::error_code ec;
    if (!stored && fsys::is_regular_file(s.file_of(path), ec)) return {};  // placed by hand: served as is
    auto failure = s.failures.find(path);
    const bool failed = failure != s.failures.end() && failure->second.until > now;
    if (stored) {
        bool fresh = !s.revalidates(r, path) || now - stored->checked < std::chrono::duration<double>(r.revalidate_after);
        if (fresh) return {};
        if (failed || !may_wait) return {Decision::Kind::serve, 0, "mirror: stale, " + (failed ? failure->second.note : "upstream check pending"), {}};
    } else if (failed) {
        return {Decision::Kind::fail, failure->second.status, failure->second.note, {}};
    } else if (auto t = s.transfers.find(path); t != s.transfers.end() && t->second->growing && !t->second->growing->failed()) {
        return {Decision::Kind::stream, 0, "mirror: streamed while fetched from upstream", {}, t->second->growing, t->second->last_modified};
    }
    // Not stored, no failure remembered and no transfer under way, even after a wait: the file it stored was evicted
    // since (by another process sharing the root, or for max_bytes). It is filled again.
    if (s.transfers.size() >= max_transfers && !s.transfers.contains(path) && stored)
        return {Decision::Kind::serve, 0, "mirror: stale, too many transfers under way", {}};
    return s.launch(std::string(path), [&r, p = std::string(path), q = std::string(query), conditional = stored, expected](
                                           State& state, std::shared_ptr<Transfer> t) { state.run(r, p, q, conditional, t, expected); },
                    state_);
}

// Under `lock`: the wait for the transfer of `key`, started on its own thread (running `work`) unless one is under way;
// 503 when too many are.
Decision Mirrors::State::launch(const std::string& key, std::function<void(State&, std::shared_ptr<Transfer>)> work,
                                const std::shared_ptr<State>& self) {
    auto running = transfers.find(key);
    if (running == transfers.end()) {
        if (transfers.size() >= max_transfers) return {Decision::Kind::fail, 503, "mirror: too many upstream transfers under way", {}};
        running = transfers.emplace(key, std::make_shared<Transfer>()).first;
        ++threads;
        std::thread([state = self, t = running->second, logs = log::current(), work = std::move(work)] {
            {
                log::Use use(logs);  // the lines of the server whose request started it
                work(*state, t);
            }
            std::lock_guard done(state->lock);
            if (--state->threads == 0) state->threads_done.notify_all();
        }).detach();
    }
    std::weak_ptr<State> weak = self;
    return {Decision::Kind::wait, 0, "mirror: waited for upstream",
            [weak, transfer = running->second](std::function<void()> resume) {
                auto state = weak.lock();
                if (!state) return;  // closed: the server is stopping
                std::lock_guard g2(state->lock);
                if (state->closed) return;
                bool over = std::none_of(state->transfers.begin(), state->transfers.end(),
                                         [&](const auto& t) { return t.second == transfer; });
                if (!over && !transfer->growing) return transfer->waiters.push_back(std::move(resume));
                resume();
            }};
}

// Under `lock`. A file of a version: served once stored, a 404 when the unpacked version (`listed`) does not hold it,
// else the version is filled, once for all its files. Asked again after that fill (`may_wait` false), a file it
// should have installed that is not there (evicted at once: the version is larger than max_bytes) is a 502, not
// another fill.
Decision Mirrors::State::decide_package(const config::MirrorConfig& r, const PackageFile& p, bool may_wait,
                                        const std::shared_ptr<const std::optional<Listing>>& listed,
                                        const std::shared_ptr<State>& self) {
    const std::string path = p.unit + p.file;
    std::error_code ec;
    if (store->use(path) || fsys::is_regular_file(file_of(path), ec)) return {};
    const bool recorded = listed && listed->has_value();
    if (recorded) store->use(p.unit + std::string(models::npm_record_name));  // (the record stays as used as its files)
    if (recorded && !(*listed)->contains(p.file))
        return {Decision::Kind::fail, 404, "mirror: " + p.name + "@" + p.version + " holds no " + p.file, {}};
    auto failure = failures.find(p.unit);
    if (failure != failures.end() && failure->second.until > Clock::now())
        return {Decision::Kind::fail, failure->second.status, failure->second.note, {}};
    if (!may_wait && !transfers.contains(p.unit))
        return {Decision::Kind::fail, 502, "mirror: " + path + " was evicted as soon as its version was filled (max_bytes)", {}};
    return launch(p.unit, [&r, p](State& state, std::shared_ptr<Transfer>) { state.run_package(r, p); }, self);
}

// The version's transfer thread: the document, then the tarball, checked and unpacked, each file installed.
void Mirrors::State::run_package(const config::MirrorConfig& r, const PackageFile& p) {
    const fsys::path tarball = store->temporary(), folder = store->temporary();
    std::optional<Failure> failed;
    try {
        const auto deadline = client::deadline_after(r.timeout);
        auto fill = store->lock_fill(p.unit, deadline);
        if (!fill) throw client::TimedOut("another modelhost process sharing the root is still filling " + p.unit);
        auto files = unpacked(p);  // filled meanwhile (by another process), with this file or without it
        std::error_code ec;
        const bool done = files && files->has_value() && (!(*files)->contains(p.file) || fsys::is_regular_file(file_of(p.unit + p.file), ec));
        if (!done) failed = fill_package(r, p, tarball, folder);
    } catch (const client::TimedOut& e) {
        failed = failure(504, std::string("mirror: ") + e.what(), failure_memory);
    } catch (const client::FileError& e) {
        failed = failure(502, std::string("mirror: ") + e.what() + fs::advice(e.error), failure_memory);
    } catch (const std::system_error& e) {
        failed = failure(502, std::string("mirror: ") + e.what() + fs::advice(e.code().value()), failure_memory);
    } catch (const std::exception& e) {  // HttpError, BodyTooLarge, TarballError
        failed = failure(502, std::string("mirror: ") + e.what(), failure_memory);
    }
    std::error_code ec;
    fsys::remove(tarball, ec);
    fsys::remove_all(folder, ec);
    if (failed) log::warn("{} for {}", failed->note, p.unit);
    finish(p.unit, std::move(failed));
}

std::optional<Failure> Mirrors::State::fill_package(const config::MirrorConfig& r, const PackageFile& p, const fsys::path& tarball,
                                                    const fsys::path& folder) {
    client::ClientOptions options;
    options.ca_file = r.ca_file;
    options.user_agent = "modelhost-mirror";
    options.deadline = client::deadline_after(r.timeout);
    const auto gone = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(r.not_found_ttl));
    const std::string what = p.name + "@" + p.version;
    const std::string doc_url = npm_document_url(r.upstream, p.name);
    auto res = client::follow_redirects(doc_url, [&](const client::HttpUrl& u) {
        return client::http_request(u, "GET", {{"Accept", npm_accept}}, true, options);
    });
    if (res.status == 404 || res.status == 410) return failure(404, "mirror: the registry has no package " + p.name, gone);
    if (res.status != 200) return failure(502, "mirror: the registry answered " + std::to_string(res.status) + " for " + doc_url, failure_memory);
    const models::NpmDocument doc = models::read_npm_document(res.body, p.name);
    if (!doc.ok()) return failure(502, "mirror: " + doc_url + ": the document is refused: " + doc.error, failure_memory);
    const auto v = doc.versions.find(p.version);
    if (v == doc.versions.end()) {
        const bool unverifiable = std::find(doc.unverifiable.begin(), doc.unverifiable.end(), p.version) != doc.unverifiable.end();
        return unverifiable ? failure(502, "mirror: " + what + ": the registry lists no sha512 integrity for it", failure_memory)
                            : failure(404, "mirror: the registry lists no version " + what, gone);
    }
    if (auto why = foreign_tarball(v->second.tarball, r.upstream); !why.empty()) return failure(502, "mirror: " + what + ": " + why, failure_memory);
    client::DownloadTarget target{tarball.string(), std::min(r.max_file_bytes, models::max_npm_tarball_bytes), 0, {}, {}, {}};
    target.on_progress = [&] {
        if (ending.load(std::memory_order_relaxed)) throw client::HttpError("the server is stopping");
    };
    res = client::get_following_redirects(v->second.tarball, target, options);
    if (res.status == 404 || res.status == 410) return failure(404, "mirror: the registry has no tarball for " + what, gone);
    if (res.status != 200) return failure(502, "mirror: the registry answered " + std::to_string(res.status) + " for " + v->second.tarball, failure_memory);
    const int fd = ::open(tarball.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot read back " + tarball.string());
    std::vector<std::string> kept;
    try {
        if (auto bad = integrity_mismatch(fd, fsys::file_size(tarball), v->second.integrity); !bad.empty())
            throw client::HttpError(what + ": " + bad);
        fsys::create_directories(folder);
        kept = unpack_npm_version(fd, folder, v->second, p.name, p.version, unpacks);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    std::uint64_t bytes = 0;
    for (const auto& file : kept) bytes += fsys::file_size(folder / file);
    if (r.max_bytes > 0 && bytes > r.max_bytes)  // its own files would evict each other as they are installed
        return failure(502, "mirror: " + what + " holds " + std::to_string(bytes) + " bytes, over max_bytes", failure_memory);
    std::set<fsys::path> folders;
    kept.push_back(std::string(models::npm_record_name));  // last: once it is there, the version is whole
    for (const auto& file : kept) {
        const fsys::path dest = file_of(p.unit + file);
        fsys::create_directories(dest.parent_path());
        const auto size = fsys::file_size(folder / file);
        store->install(p.unit + file, folder / file, Entry{"", "", Clock::now(), Clock::now(), size}, r.max_bytes, {});
        folders.insert(dest.parent_path());
    }
    for (const auto& f : folders) folder_syncs.sync(f);
    return std::nullopt;
}

}  // namespace modelhost::mirror
