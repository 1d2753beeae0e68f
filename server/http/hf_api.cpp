// The hub's model API over a folder, in the shapes huggingface_hub and @huggingface/hub read
// (https://huggingface.co/docs/hub/en/api): model info with siblings, and the tree, paginated by Link.
#include "http/hf_layout.hpp"

#include "base/http_date.hpp"
#include "fs/digest.hpp"
#include "mirror/mirror.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include "http/cache_control.hpp"
#include "http/mime.hpp"
#include "http/reply.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <map>

namespace modelhost::http {

namespace {

using json = nlohmann::json;

constexpr std::string_view api_prefix = "/api/models/";
constexpr std::size_t page_size = 1000;         // tree entries per page, as the hub sends them
constexpr std::size_t expanded_page_size = 50;  // ... with expand=true

// What /api/models/... asks: the model, then its info at a revision, or its tree at a revision under a folder.
struct ApiPath {
    std::string model;
    bool tree = false;
    std::string revision = "main";
    std::string folder;  // "" for the repository's top
};

// After /api/models/: {model}, {model}/revision/{rev}, {model}/tree/{rev}[/{path}], {model} being one segment or two.
std::optional<ApiPath> parse_api_path(std::string_view rest) {
    std::vector<std::string_view> s;
    for (std::size_t at = 0; at <= rest.size();) {
        std::size_t next = std::min(rest.find('/', at), rest.size());
        if (next > at) s.push_back(rest.substr(at, next - at));
        at = next + 1;
    }
    auto is_kind = [&](std::size_t i) { return i < s.size() && (s[i] == "revision" || s[i] == "tree"); };
    const std::size_t model_segments = s.size() >= 3 && is_kind(1) ? 1 : s.size() == 1 ? 1 : 2;
    if (s.empty() || s.size() < model_segments) return std::nullopt;
    ApiPath p;
    p.model.assign(s[0]);
    if (model_segments == 2) p.model.append(1, '/').append(s[1]);
    if (s.size() == model_segments) return p;
    if (!is_kind(model_segments) || s.size() < model_segments + 2) return std::nullopt;
    p.tree = s[model_segments] == "tree";
    p.revision.assign(s[model_segments + 1]);
    if (!p.tree && s.size() != model_segments + 2) return std::nullopt;
    for (std::size_t i = model_segments + 2; i < s.size(); ++i) p.folder.append(p.folder.empty() ? "" : "/").append(s[i]);
    return p;
}

// The query's flags and cursor (the hex of the last path of the page before).
struct ApiQuery {
    bool blobs = false, recursive = false, expand = false;
    std::string cursor;
};

ApiQuery parse_api_query(std::string_view q) {
    ApiQuery out;
    for (std::size_t at = 0; at < q.size();) {
        std::size_t next = std::min(q.find('&', at), q.size());
        std::string_view pair = q.substr(at, next - at), name = pair.substr(0, pair.find('='));
        std::string_view value = name.size() < pair.size() ? pair.substr(name.size() + 1) : std::string_view();
        const bool yes = value == "true" || value == "1" || value == "True";
        if (name == "blobs") out.blobs = yes;
        else if (name == "recursive") out.recursive = yes;
        else if (name == "expand") out.expand = yes;
        else if (name == "cursor") out.cursor.assign(value);
        at = next + 1;
    }
    return out;
}

std::string hex_of(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) out += {digits[c >> 4], digits[c & 15]};
    return out;
}

bool valid_cursor(const fs::RepoSnapshot& repo, const std::string& cursor);

std::string unhex(std::string_view h) {
    auto value = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(value(h[i]) * 16 + value(h[i + 1])));
    return out;
}

// A file's LFS facts as the hub writes them (`sha_key`: "sha256" in siblings, "oid" in the tree).
std::optional<json> lfs_of(const fs::RepoIndex& repos, const fs::RepoSnapshot& repo, const fs::RepoEntry& e, const char* sha_key) {
    auto sha = repos.sha256(repo, e);
    if (!sha) return std::nullopt;
    return json{{sha_key, *sha}, {"size", e.size}, {"pointerSize", fs::lfs_pointer(*sha, e.size).size()}};
}

fs::RepoAnswer model_info(const fs::RepoIndex& repos, const fs::RepoSnapshot& repo, bool blobs) {
    json siblings = json::array();
    for (const auto& e : repo.entries) {
        if (e.folder) continue;
        json s{{"rfilename", e.path}};
        if (blobs) {
            s["size"] = e.size;
            if (auto oid = repos.oid(repo, e)) s["blobId"] = *oid;
            if (e.lfs)
                if (auto lfs = lfs_of(repos, repo, e, "sha256")) s["lfs"] = *lfs;
        }
        siblings.push_back(std::move(s));
    }
    const auto slash = repo.model.find('/');
    json doc{{"_id", repo.commit.substr(0, 24)}, {"id", repo.model}, {"modelId", repo.model},
             {"author", slash == std::string::npos ? json(nullptr) : json(repo.model.substr(0, slash))},
             {"sha", repo.commit}, {"lastModified", format_rfc3339(repo.last_modified)},
             {"createdAt", format_rfc3339(repo.last_modified)}, {"private", false}, {"disabled", false}, {"gated", false},
             {"downloads", 0}, {"likes", 0}, {"tags", json::array()}, {"siblings", std::move(siblings)}};
    return {doc.dump(-1, ' ', false, json::error_handler_t::replace), {}};  // (a name not in UTF-8: U+FFFD)
}

// A folder's oid: not git's tree id (that needs every blob's), but as stable: a digest of the paths, sizes and
// mtimes beneath it, new when any of them changes.
// Each folder's facts are its files' and its subfolders' ids, deepest folders first: every entry is read once.
std::map<std::string, std::string, std::less<>> folder_ids(const fs::RepoSnapshot& repo) {
    std::map<std::string, std::string, std::less<>> facts;
    std::vector<std::string_view> folders;
    auto parent = [](std::string_view p) { return p.substr(0, p.rfind('/') == std::string_view::npos ? 0 : p.rfind('/')); };
    for (const auto& e : repo.entries) {
        if (e.folder) {
            facts[e.path];
            folders.push_back(e.path);
        } else if (e.path.find('/') != std::string::npos) {
            facts[std::string(parent(e.path))] += e.path + '\0' + std::to_string(e.size) + '\0' + std::to_string(e.mtime.tv_sec) +
                                                  '.' + std::to_string(e.mtime.tv_nsec) + '\n';
        }
    }
    auto depth = [](std::string_view p) { return std::count(p.begin(), p.end(), '/'); };
    std::stable_sort(folders.begin(), folders.end(), [&](std::string_view a, std::string_view b) { return depth(a) > depth(b); });
    for (std::string_view f : folders) {
        auto it = facts.find(f);
        it->second = fs::digest_bytes(fs::Digest::sha1, std::string(f) + '\n' + it->second);
        if (f.find('/') != std::string_view::npos) facts[std::string(parent(f))] += std::string(f) + ' ' + it->second + '\n';
    }
    return facts;
}

bool beneath(std::string_view path, std::string_view folder, bool recursive) {
    if (!folder.empty() && !(path.size() > folder.size() && path.starts_with(folder) && path[folder.size()] == '/'))
        return false;
    const std::string_view rest = folder.empty() ? path : path.substr(folder.size() + 1);
    return recursive || rest.find('/') == std::string_view::npos;
}

// One page of the tree: the entries after the cursor, in path order.
fs::RepoAnswer tree_page(const fs::RepoIndex& repos, const fs::RepoSnapshot& repo, const ApiPath& p, const ApiQuery& q) {
    const std::string after = unhex(q.cursor);
    const std::size_t limit = q.expand ? expanded_page_size : page_size;
    const auto folders = folder_ids(repo);
    json page = json::array();
    fs::RepoAnswer out;
    for (const auto& e : repo.entries) {
        if (!beneath(e.path, p.folder, q.recursive) || (!after.empty() && e.path <= after)) continue;
        if (page.size() == limit) {
            out.next = hex_of(page.back()["path"].get<std::string>());
            break;
        }
        json item{{"type", e.folder ? "directory" : "file"}, {"size", e.size}, {"path", e.path}};
        if (e.folder) {
            item["oid"] = folders.find(e.path)->second;
        } else {
            auto oid = repos.oid(repo, e);
            if (!oid) continue;  // unreadable: it could not be downloaded either
            item["oid"] = *oid;
            if (e.lfs)
                if (auto lfs = lfs_of(repos, repo, e, "oid")) item["lfs"] = *lfs;
        }
        if (q.expand) item["lastCommit"] = {{"id", repo.commit}, {"title", "modelhost"}, {"date", format_rfc3339(e.mtime.tv_sec)}};
        page.push_back(std::move(item));
    }
    out.body = page.dump(-1, ' ', false, json::error_handler_t::replace);
    return out;
}

// The next page's absolute URL, the request's own path and query with the cursor replaced (both hub clients follow
// it verbatim); none without a Host.
std::string next_link(const Policy& p, const Target& path, const Request& req, std::string_view cursor) {
    std::string_view target(req.target().data(), req.target().size()), host = req[bhttp::field::host];
    if (host.empty()) return {};
    const auto q = target.find('?');
    static constexpr auto path_chars = boost::urls::pchars + '/';
    std::string url = std::string(p.endpoints.tls() ? "https://" : "http://").append(host).append(boost::urls::encode(path.path, path_chars));
    char sep = '?';
    for (std::size_t at = q == std::string_view::npos ? target.size() : q + 1; at < target.size();) {
        std::size_t next = std::min(target.find('&', at), target.size());
        std::string_view pair = target.substr(at, next - at);
        if (!pair.empty() && !pair.starts_with("cursor=")) url.append(1, sep).append(pair), sep = '&';
        at = next + 1;
    }
    return "<" + url.append(1, sep).append("cursor=").append(cursor) + ">; rel=\"next\"";
}

Reply json_answer(std::shared_ptr<const fs::RepoAnswer> a, unsigned version) {
    Reply res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, json_type);
    res.set(bhttp::field::cache_control, always_revalidate);
    res.body().length = a->body.size();
    const char* first = a->body.data();
    res.body().blob = fs::Bytes(std::move(a), first);  // the snapshot's bytes, not a copy
    return res;
}

bool valid_cursor(const fs::RepoSnapshot& repo, const std::string& cursor) {
    if (cursor.size() % 2 || cursor.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
    return repo.find(unhex(cursor)) != nullptr;
}

}  // namespace

bool answer_hf_api(const Policy& p, const Resources& r, const mirror::Mirrors* mirrors, const Target& target, const Request& req,
                   bool may_wait, Exchange& ex) {
    if (!p.huggingface.enabled || !r.repos || target.verdict != Target::Verdict::ok || !target.path.starts_with(api_prefix))
        return false;
    if (r.repos->snapshot("api")) return false;  // a real folder named "api": its files are served as they are
    const unsigned version = req.version();
    ex.log.note = "hub API";
    auto path = parse_api_path(std::string_view(target.path).substr(api_prefix.size()));
    const bool mirrored = path && mirrors && mirrors->covers("/" + path->model + "/");  // its store is not a repository
    auto repo = path && !mirrored ? r.repos->snapshot(path->model) : nullptr;
    if (!repo) {
        ex.reply = hub_error("RepoNotFound", "Repository not found", version);
        return true;
    }
    if (!known_revision(*repo, path->revision)) {
        ex.reply = hub_error("RevisionNotFound", "Invalid rev id: " + path->revision, version);
        return true;
    }
    std::string_view t(req.target().data(), req.target().size());
    const ApiQuery q = parse_api_query(t.find('?') == std::string_view::npos ? std::string_view() : t.substr(t.find('?') + 1));
    if (!q.cursor.empty() && !valid_cursor(*repo, q.cursor)) {  // only a page's own: every other one would be a new answer
        ex.reply = error_reply(bhttp::status::bad_request, version);
        ex.log.note = "hub API: not a cursor this server made";
        return true;
    }
    if (path->tree && !path->folder.empty() && (!repo->find(path->folder) || !repo->find(path->folder)->folder)) {
        ex.reply = hub_error("EntryNotFound", path->folder + " does not exist on \"" + path->revision + "\"", version);
        return true;
    }
    const std::string key = path->tree ? "tree\n" + path->folder + '\n' + (q.recursive ? "r" : "") + (q.expand ? "e" : "") + '\n' + q.cursor
                                       : std::string(q.blobs ? "info+blobs" : "info");
    auto made = repo->answered(key);  // made before: no hash to look at again
    if (!made) {
        auto join = path->tree || q.blobs ? r.repos->until_hashed(repo) : std::nullopt;  // hashes read off the I/O threads
        if (join && may_wait) {
            ex.wait = std::move(*join);
            ex.log.note = "hub API: waited for hashes";
            return true;
        }
        auto make = [&] { return path->tree ? tree_page(*r.repos, *repo, *path, q) : model_info(*r.repos, *repo, q.blobs); };
        // Asked again and still not all known (the memory was full): made from what is known, and not kept.
        made = join ? std::make_shared<const fs::RepoAnswer>(make()) : repo->answer(key, make);
    }
    const std::string next = made->next;
    ex.reply = json_answer(std::move(made), version);
    ex.reply.set("X-Repo-Commit", repo->commit);
    if (auto link = next.empty() ? std::string() : next_link(p, target, req, next); !link.empty()) ex.reply.set(bhttp::field::link, link);
    return true;
}

}  // namespace modelhost::http
