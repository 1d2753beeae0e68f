// Listing a repository's folder with std::filesystem (no symlink followed), its commit from the record or from the
// listing, and its hashes read once per file version (fs/digest.hpp).
#include "fs/repo.hpp"

#include "fs/digest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::fs {

namespace fsys = std::filesystem;

namespace {

constexpr auto relist_after = std::chrono::seconds(1);
constexpr std::uintmax_t max_record_bytes = 16 << 20;  // a commit record larger than this is not read

std::uint64_t nanoseconds(const std::timespec& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(t.tv_nsec);
}

// The entries beneath `folder`, sorted, with no hidden name, symlink or special file; `truncated` past the bound.
std::vector<RepoEntry> list_folder(const fsys::path& folder, bool& truncated) {
    std::vector<RepoEntry> out;
    std::error_code ec;
    fsys::recursive_directory_iterator it(folder, fsys::directory_options::none, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const fsys::file_status st = it->symlink_status(ec);
        if (ec) break;
        const bool dir = fsys::is_directory(st);
        if (name.starts_with('.') || (!dir && !fsys::is_regular_file(st))) {
            if (dir) it.disable_recursion_pending();
            continue;
        }
        if (dir && it.depth() >= RepoIndex::max_depth) it.disable_recursion_pending();
        if (out.size() == RepoIndex::max_entries) {
            truncated = true;
            break;
        }
        struct stat s {};
        if (::lstat(it->path().c_str(), &s) != 0) continue;  // gone meanwhile
        RepoEntry e;
        e.path = it->path().lexically_relative(folder).generic_string();
        e.folder = dir;
        e.size = dir ? 0 : static_cast<std::uint64_t>(s.st_size);
        e.mtime = s.st_mtim;
        e.inode = static_cast<std::uint64_t>(s.st_ino);
        e.lfs = !dir && lfs_sized(name, e.size);
        out.push_back(std::move(e));
    }
    std::sort(out.begin(), out.end(), [](const RepoEntry& a, const RepoEntry& b) { return a.path < b.path; });
    return out;
}

// Leaves out "X.gz" and "X.br" beside a file "X": the server's compressed twins, not files of the repository.
void drop_twins(std::vector<RepoEntry>& entries) {
    std::set<std::string> files;
    for (const auto& e : entries)
        if (!e.folder) files.insert(e.path);
    std::erase_if(entries, [&](const RepoEntry& e) {
        const std::string_view p = e.path;
        return !e.folder && (p.ends_with(".gz") || p.ends_with(".br")) && files.count(std::string(p.substr(0, p.size() - 3)));
    });
}

// A commit id from the listing itself: every file's path, size and mtime. Stable while nothing changes, new as soon
// as a file is added, removed or rewritten.
std::string derived_commit(const std::vector<RepoEntry>& entries) {
    std::string facts;
    for (const auto& e : entries)
        if (!e.folder) facts.append(e.path).append(1, '\0').append(std::to_string(e.size)).append(1, '\0')
                           .append(std::to_string(nanoseconds(e.mtime))).append(1, '\n');
    return digest_bytes(Digest::sha256, facts).substr(0, 40);
}

bool is_commit_id(const std::string& s) {
    return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The record fetch or the mirror left (commit_record_name); a hash in it counts only while the file has the size
// and mtime it was recorded with. An unreadable or malformed record is as if there were none.
void read_record(const fsys::path& folder, RepoSnapshot& repo) {
    const fsys::path path = folder / commit_record_name;
    std::error_code ec;
    const auto bytes = fsys::file_size(path, ec);
    if (ec || bytes > max_record_bytes) return;
    std::ifstream in(path, std::ios::binary);
    const auto doc = nlohmann::json::parse(in, nullptr, false);
    if (!doc.is_object() || !doc.contains("commit") || !doc["commit"].is_string()) return;
    const std::string commit = doc["commit"].get<std::string>();
    if (!is_commit_id(commit)) return;
    repo.commit = commit;
    repo.recorded = true;
    const auto files = doc.find("files");
    if (files == doc.end() || !files->is_object()) return;
    for (auto f = files->begin(); f != files->end(); ++f) {
        const RepoEntry* e = repo.find(f.key());
        if (!e || e->folder || !f->is_object()) continue;
        auto field = [&](const char* name) { return f->contains(name) ? (*f)[name] : nlohmann::json(); };
        const auto size = field("size"), mtime = field("mtime_ns"), sha = field("sha256");
        if (size.is_number_unsigned() && size.get<std::uint64_t>() == e->size && mtime.is_number_unsigned() &&
            mtime.get<std::uint64_t>() == nanoseconds(e->mtime) && sha.is_string() && sha.get<std::string>().size() == 64)
            repo.recorded_sha256.emplace(f.key(), sha.get<std::string>());
    }
}

std::shared_ptr<RepoSnapshot> make_snapshot(const fsys::path& folder, const std::string& model) {
    auto repo = std::make_shared<RepoSnapshot>();
    repo->model = model;
    repo->entries = list_folder(folder, repo->truncated);
    drop_twins(repo->entries);
    for (const auto& e : repo->entries) repo->last_modified = std::max(repo->last_modified, e.mtime.tv_sec);
    read_record(folder, *repo);
    if (!repo->recorded) repo->commit = derived_commit(repo->entries);
    return repo;
}

bool same_listing(const RepoSnapshot& a, const RepoSnapshot& b) {
    if (a.commit != b.commit || a.entries.size() != b.entries.size()) return false;
    for (std::size_t i = 0; i < a.entries.size(); ++i)
        if (a.entries[i].path != b.entries[i].path || a.entries[i].inode != b.entries[i].inode ||
            a.entries[i].size != b.entries[i].size || nanoseconds(a.entries[i].mtime) != nanoseconds(b.entries[i].mtime))
            return false;
    return true;
}

}  // namespace

const RepoEntry* RepoSnapshot::find(std::string_view path) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), path, [](const RepoEntry& e, std::string_view p) { return e.path < p; });
    return it != entries.end() && it->path == path ? &*it : nullptr;
}

std::shared_ptr<const RepoAnswer> RepoSnapshot::answered(const std::string& key) const {
    std::lock_guard lock(answers_mutex_);
    auto it = answers_.find(key);
    return it == answers_.end() ? nullptr : it->second;
}

std::shared_ptr<const RepoAnswer> RepoSnapshot::answer(const std::string& key, const std::function<RepoAnswer()>& make) const {
    if (auto made = answered(key)) return made;
    auto made = std::make_shared<const RepoAnswer>(make());  // outside the lock: it may read files
    std::lock_guard lock(answers_mutex_);
    if (answers_.size() >= max_answers) answers_.clear();
    answers_.emplace(key, made);
    return made;
}

RepoIndex::RepoIndex(fsys::path root) : root_(std::move(root)) {}

std::shared_ptr<const RepoSnapshot> RepoIndex::snapshot(const std::string& model) const {
    const auto now = std::chrono::steady_clock::now();
    std::shared_ptr<const RepoSnapshot> before;
    {
        std::lock_guard lock(mutex_);
        if (auto it = kept_.find(model); it != kept_.end()) {
            if (now - it->second.listed < relist_after) return it->second.snapshot;
            before = it->second.snapshot;
        }
    }  // a missing folder is not kept: asking for one costs a stat each time
    const fsys::path folder = root_ / model;
    std::error_code ec;
    const bool exists = fsys::is_directory(fsys::symlink_status(folder, ec));
    std::shared_ptr<const RepoSnapshot> fresh;
    if (exists) fresh = make_snapshot(folder, model);  // outside the lock: other repositories go on
    if (fresh && before && same_listing(*before, *fresh)) fresh = before;
    std::lock_guard lock(mutex_);
    if (auto it = kept_.find(model); it != kept_.end()) {
        kept_entries_ -= it->second.snapshot->entries.size();
        kept_.erase(it);
    }
    if (!fresh) return nullptr;
    while (!kept_.empty() && (kept_.size() >= max_repos || kept_entries_ + fresh->entries.size() > max_kept_entries)) {
        kept_entries_ -= kept_.begin()->second.snapshot->entries.size();  // (by name: not the oldest, but bounded)
        kept_.erase(kept_.begin());
    }
    kept_entries_ += fresh->entries.size();
    kept_[model] = {fresh, now};
    return fresh;
}

// The key names the hash, the file and its version: "s" or "g", "model/path", NUL, inode, size and mtime.
HashQueue::Job RepoIndex::job_for(const RepoSnapshot& repo, const RepoEntry& file, bool sha256) const {
    HashQueue::Job job;
    job.key.assign(1, sha256 ? 's' : 'g').append(repo.model).append(1, '/').append(file.path).append(1, '\0')
        .append(std::to_string(file.inode)).append(1, ':').append(std::to_string(file.size)).append(1, ':')
        .append(std::to_string(nanoseconds(file.mtime)));
    job.path = root_ / repo.model / file.path;
    job.size = file.size;
    job.mtime_ns = nanoseconds(file.mtime);
    job.git_blob = !sha256;
    return job;
}

std::optional<std::string> RepoIndex::hash(const RepoSnapshot& repo, const RepoEntry& file, bool sha256) const {
    auto hex = hashes_->find_or_queue(job_for(repo, file, sha256));
    if (!hex || hex->empty()) return std::nullopt;  // not known yet, or unreadable
    return hex;
}

std::optional<std::function<void(std::function<void()>)>> RepoIndex::until_hashed(const std::shared_ptr<const RepoSnapshot>& repo) const {
    std::vector<std::string> pending;
    for (const auto& e : repo->entries) {
        if (e.folder) continue;
        const bool sha = e.lfs && !repo->recorded_sha256.count(e.path);
        const bool blob = !e.lfs;
        for (bool which : {true, false}) {
            if ((which && !sha) || (!which && !blob)) continue;
            HashQueue::Job job = job_for(*repo, e, which);
            if (!hashes_->find_or_queue(job)) pending.push_back(std::move(job.key));
        }
    }
    if (pending.empty()) return std::nullopt;
    HashQueue* queue = hashes_.get();  // (called at once by the session, while the policy holding this index is in force)
    return [queue, keys = std::move(pending)](std::function<void()> resume) mutable {
        queue->when_known(std::move(keys), std::move(resume));
    };
}

std::optional<std::string> RepoIndex::sha256(const RepoSnapshot& repo, const RepoEntry& file) const {
    if (auto it = repo.recorded_sha256.find(file.path); it != repo.recorded_sha256.end()) return it->second;
    return hash(repo, file, true);
}

std::optional<std::string> RepoIndex::oid(const RepoSnapshot& repo, const RepoEntry& file) const {
    if (!file.lfs) return hash(repo, file, false);
    auto sha = sha256(repo, file);
    if (!sha) return std::nullopt;
    std::string pointer = lfs_pointer(*sha, file.size);
    return digest_bytes(Digest::sha1, "blob " + std::to_string(pointer.size()) + std::string(1, '\0') + pointer);
}

std::string lfs_pointer(std::string_view sha256_hex, std::uint64_t size) {
    std::string p = "version https://git-lfs.github.com/spec/v1\noid sha256:";
    return p.append(sha256_hex).append("\nsize ").append(std::to_string(size)).append(1, '\n');
}

bool lfs_sized(std::string_view name, std::uint64_t size) {
    if (size >= 10u << 20) return true;
    // The hub's default .gitattributes for a new model repository (binary formats tracked by LFS).
    static constexpr std::array<std::string_view, 33> lfs_types{
        ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel", ".model",
        ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth", ".rar",
        ".safetensors", ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst", ".onnx_data", ".task"};
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return false;
    const std::string_view ext = name.substr(dot);
    return std::find(lfs_types.begin(), lfs_types.end(), ext) != lfs_types.end();
}

}  // namespace modelhost::fs
