// One file of a fetch, resumable and retried (tools/fetch_download.hpp).
#include "tools/fetch_download.hpp"

#include "base/http_date.hpp"
#include "fs/durable.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>
#include <fnmatch.h>
#include <unistd.h>

namespace modelhost::tools {

using namespace client;

namespace fsys = std::filesystem;

bool selected(const std::vector<std::string>& include, const std::vector<std::string>& exclude, const std::string& path) {
    auto any = [&](const std::vector<std::string>& globs) {
        return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return ::fnmatch(g.c_str(), path.c_str(), 0) == 0; });
    };
    return (include.empty() || any(include)) && !any(exclude);
}

std::string read_text(const fsys::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Partial-download state (the validator to resume by, the source) is synced before its rename like the files, and
// the work folder once, when it is installed (fs/durable.hpp): a power loss may lose a name, which costs only the
// resume, never leaves it torn.
void write_text(const fsys::path& p, const std::string& text) { fs::write_in_work_folder(p, text); }

namespace {

// What If-Range may carry for these bytes (RFC 9110 §13.1.5): a strong ETag, else a Last-Modified date at least a
// second older than the response's Date (a strong validator by §8.8.2.2); "" when neither: the bytes cannot be resumed.
std::string range_validator(const HttpResponse& r) {
    auto etags = r.all("ETag");
    if (etags.size() == 1 && etags[0].starts_with('"')) return etags[0];
    auto modified = r.all("Last-Modified"), dates = r.all("Date");
    if (modified.size() != 1 || dates.size() != 1) return {};
    auto m = parse_http_date(modified[0]), d = parse_http_date(dates[0]);
    return m && d && *d - *m >= 1 ? modified[0] : std::string();
}

// One GET into `file` (at most `max_bytes`) through `file`.part, following redirects by the client's rule. Bytes an
// earlier attempt or run kept in the .part file are not asked for again: the rest is requested with Range and
// If-Range (the validator kept beside them), and a 200 instead of a 206 (the file changed) starts over. The .part
// file becomes `file` only when whole.
void download_once(const std::string& url, const fsys::path& file, std::uint64_t max_bytes, const ClientOptions& client) {
    const fsys::path part = file.string() + ".part", validator = file.string() + ".part-validator";
    std::string current = url;  // the URL the last response came from
    std::uint64_t resumed = 0;  // the bytes it was asked to continue from
    auto send = [&](const HttpUrl& u) {
        current = u.text;
        std::error_code ec;
        DownloadTarget target{part.string(), max_bytes, 0, read_text(validator), {}, {}};
        if (auto size = fsys::file_size(part, ec); !ec && !target.if_range.empty()) target.have = size;
        target.on_head = [&](const HttpResponse& head) { write_text(validator, range_validator(head)); };
        if (target.have > 0) std::printf("resuming %s at byte %ju\n", current.c_str(), static_cast<std::uintmax_t>(target.have));
        resumed = target.have;
        return http_download(u, target, client);
    };
    HttpResponse r = follow_redirects(url, send);
    if (r.status == 416 && resumed > 0) {  // the kept bytes reach its end (whole, or it shrank): asked again, whole
        fsys::remove(part);
        r = follow_redirects(current, send);
    }
    if (r.status >= 500) throw HttpError(current + ": HTTP " + std::to_string(r.status));
    if (r.status != 200 && r.status != 206) throw FetchError(current + ": HTTP " + std::to_string(r.status));
    fs::install_in_work_folder(part, file);  // the work folder is synced when it is installed
    fsys::remove(validator);
}

}  // namespace

// download_once, retrying transient failures (network, 5xx) with backoff; each retry continues from the bytes kept.
void download(const std::string& url, const fsys::path& file, std::uint64_t max_bytes, const ClientOptions& client) {
    for (int attempt = 1;; ++attempt) {
        try {
            return download_once(url, file, max_bytes, client);
        } catch (const BodyTooLarge& e) {
            throw FetchError(e.what());
        } catch (const RedirectRefused& e) {  // the same redirects next time
            throw FetchError(e.what());
        } catch (const client::FileError& e) {  // the disk's failure, not the network's: asking again would not help
            throw FetchError(std::string(e.what()) + fs::advice(e.error), true);
        } catch (const HttpError& e) {
            if (attempt == 3) throw FetchError(std::string(e.what()) + " (after 3 attempts)", true);
            std::this_thread::sleep_for(std::chrono::milliseconds(500 << (attempt - 1)));
        }
    }
}

// Every file, `concurrency` at a time; prints progress (one line on a TTY, else a line per file). A file already whole
// in the work folder (from an earlier run of the same fetch) is not asked for again.
void download_files(const std::vector<FetchFile>& files, const fsys::path& tmp, unsigned concurrency,
                    const ClientOptions& client) {
    std::atomic<std::size_t> next{0}, done{0};
    std::atomic<std::uint64_t> bytes{0};
    std::mutex lock;
    std::exception_ptr error;  // the first failure, rethrown as it was (a network failure stays resumable)
    auto start = std::chrono::steady_clock::now();
    bool tty = ::isatty(1);
    auto worker = [&] {
        for (std::size_t i; (i = next++) < files.size();) {
            try {
                const FetchFile& f = files[i];
                fsys::path file = tmp / f.path;
                fsys::create_directories(file.parent_path());
                if (fsys::exists(file)) {
                    bytes += fsys::file_size(file);
                    ++done;
                    continue;
                }
                download(f.url, file, f.max_bytes, client);
                bytes += fsys::file_size(file);
                std::lock_guard g(lock);
                double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                double rate = static_cast<double>(bytes) / std::max(secs, 1e-3);
                std::size_t n = ++done;
                double eta = n ? secs / static_cast<double>(n) * static_cast<double>(files.size() - n) : 0;
                if (tty) std::printf("\r%zu/%zu files  %.1f MB  %.1f MB/s  ETA %.0fs   ", n, files.size(), static_cast<double>(bytes) / 1e6, rate / 1e6, eta);
                else std::printf("got %s (%ju bytes)\n", f.path.c_str(), static_cast<std::uintmax_t>(fsys::file_size(file)));
                std::fflush(stdout);
            } catch (const std::exception&) {
                std::lock_guard g(lock);
                if (!error) error = std::current_exception();
                next = files.size();  // stop handing out work
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < std::max(1u, concurrency); ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    if (tty) std::printf("\n");
    if (error) std::rethrow_exception(error);
}

}  // namespace modelhost::tools
