// /v1/models: the tree is rescanned at most once a second, so the catalog follows changes without a watcher.
#include "models/service.hpp"

#include "models/loaders.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <fstream>
#include <optional>
#include <utility>
#include <sys/stat.h>
#include <vector>

namespace modelhost::models {

namespace {

// "face mesh/model.json" -> "/face%20mesh/model.json".
std::string url_of(const std::string& relative) { return std::string("/").append(percent_encoded(relative)); }

// "a/b/model.json" -> "a/b"; "model.json" -> "".
std::string parent_folder(const std::string& relative) {
    auto slash = relative.rfind('/');
    return slash == std::string::npos ? "" : relative.substr(0, slash);
}

std::string hash_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::vector<char> buf(1 << 16);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
        EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(in.gcount()));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
    return out;
}

}  // namespace

std::string CatalogService::sha256_of(const std::string& relative) {
    struct stat st {};
    auto full = root_ / relative;
    if (::stat(full.c_str(), &st) != 0) return {};
    std::string version = std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" +
                          std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    auto& slot = hashes_[relative];
    if (slot.first != version) slot = {version, hash_file(full)};
    return slot.second;
}

CatalogService::CatalogService(std::filesystem::path root, ScanHook scanned)
    : root_(std::move(root)), scanned_(std::move(scanned)), worker_([this] { run(); }) {}

CatalogService::~CatalogService() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

void CatalogService::ask_if_stale() {
    if (!building_ && !wanted_ && std::chrono::steady_clock::now() - built_ >= std::chrono::seconds(1)) {
        wanted_ = true;
        wake_.notify_one();
    }
}

std::shared_ptr<const std::string> CatalogService::models_json() {
    std::lock_guard lock(mutex_);
    ask_if_stale();
    return json_;
}

std::shared_ptr<const CatalogSummary> CatalogService::summary() {
    std::lock_guard lock(mutex_);
    ask_if_stale();
    return summary_;
}

// The build thread: one build at a time (single flight), each when asked for.
void CatalogService::run() {
    bool first = true;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return wanted_ || stopping_; });
        if (stopping_) return;
        wanted_ = false;
        building_ = true;
        lock.unlock();
        std::optional<Build> b;
        try {
            b = build();
        } catch (const std::exception&) {
            // The tree changed under the scan in a way nothing foresaw: keep the last catalog, try again later.
            b.reset();
        }
        if (scanned_) scanned_(std::exchange(first, false));
        lock.lock();
        building_ = false;
        built_ = std::chrono::steady_clock::now();
        if (b) {
            json_ = std::make_shared<const std::string>(std::move(b->json));
            summary_ = std::make_shared<const CatalogSummary>(std::move(b->summary));
        }
    }
}

namespace {

// `text` with each invalid UTF-8 sequence replaced as /v1/models' JSON replaces it (U+FFFD), so the status page
// shows a name as the JSON does.
std::string as_in_json(const std::string& text) {
    auto dumped = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return nlohmann::json::parse(dumped).get<std::string>();
}

// The folder a model's name is relative to, as a URL path with a trailing '/'.
std::string folder_url(const ModelEntry& m) {
    const bool folder_model = m.format == format::transformers || m.format == format::webllm;
    const std::string folder = folder_model ? (m.name == "." ? "" : m.name) : parent_folder(m.manifest);
    return folder.empty() ? "/" : url_of(folder) + "/";
}

SummaryRow row_of(const ModelEntry& m) {
    SummaryRow r{as_in_json(m.name), url_of(m.manifest), folder_url(m), m.format, as_in_json(m.variant), m.dtypes, {}, m.total_bytes,
                 m.ok(), {}};
    for (const auto& e : m.external) r.external.push_back(as_in_json(e));
    for (const auto& p : m.problems) r.problems.push_back(as_in_json(p));
    return r;
}

// The counts over every model, and the first rows.
CatalogSummary summarise(const Catalog& c) {
    CatalogSummary s;
    s.assets = c.assets.size();
    for (const char* f : format::all) s.by_format[f] = c.count(f);
    for (const auto& m : c.models) {
        (m.ok() ? s.models_ok : s.models_broken) += 1;
        s.total_bytes += m.total_bytes;
        if (s.rows.size() < CatalogSummary::max_rows)
            s.rows.push_back(row_of(m));
    }
    s.runtimes = held_runtimes(c);
    return s;
}

}  // namespace

nlohmann::json CatalogService::model_json(const ModelEntry& m, const std::map<std::string, std::string>& runtimes) {
    auto files = nlohmann::json::array();
    for (const auto& f : m.files)
        files.push_back({{"path", f.path}, {"url", url_of(f.path)}, {"bytes", f.bytes}, {"sha256", sha256_of(f.path)}});
    nlohmann::json out = {{"name", m.name}, {"url", url_of(m.manifest)}, {"format", m.format}, {"variant", m.variant},
                          {"files", files}, {"total_bytes", m.total_bytes}, {"status", m.ok() ? "ok" : "broken"},
                          {"problems", m.problems}, {"notes", m.notes}};
    if (m.format == format::transformers) out["dtypes"] = m.dtypes;
    if (m.format == format::onnx) out["external_data"] = m.external;
    out["loader"] = loader_json(m, url_of(m.manifest), folder_url(m), runtimes);
    return out;
}

CatalogService::Build CatalogService::build() {
    Catalog c = scan(root_);
    nlohmann::json out = {{"models", nlohmann::json::array()}, {"runtimes", nlohmann::json::array()}, {"assets", nlohmann::json::array()}};
    const auto runtimes = held_runtimes(c);
    for (const auto& m : c.models) out["models"].push_back(model_json(m, runtimes));
    for (const auto& r : c.runtimes) {
        auto wasm = nlohmann::json::array();
        for (const auto& w : r.wasm) wasm.push_back({{"path", w}, {"url", url_of(w)}});
        out["runtimes"].push_back({{"name", r.name}, {"version", r.version}, {"url", url_of(r.path) + "/"}, {"wasm", wasm}});
    }
    for (const auto& a : c.assets) out["assets"].push_back({{"path", a}, {"url", url_of(a)}});
    return {out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", summarise(c)};
}

}  // namespace modelhost::models
