// Raw request bytes through the parse-and-handle steps the HTTP/1.1 session takes (net/session.cpp: header with
// Beast's limits, obs-fold refused, framing screened by the handler, chunk data counted and dropped, then
// Handler::handle on a real root): every request is answered or refused with a status, and nothing throws.
#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "http/framing.hpp"
#include "http/handler.hpp"

#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <memory>
#include <thread>
#include <unistd.h>

namespace bhttp = boost::beast::http;

namespace {

const modelhost::http::Handler& handler() {
    static std::unique_ptr<modelhost::http::Handler> h = [] {
        auto root = std::filesystem::temp_directory_path() / ("modelhost-fuzz-request-" + std::to_string(::getpid()));
        std::filesystem::create_directories(root / "m");
        std::ofstream(root / "m" / "model.json") << R"({"weightsManifest":[]})";
        std::ofstream(root / "m" / "a.bin", std::ios::binary) << std::string(300, 'w');
        modelhost::config::Config cfg;
        cfg.server.root = root.string();
        cfg.cors.allow_origins = {"https://app.example.com"};
        auto made = std::make_unique<modelhost::http::Handler>(cfg);
        // Let the catalog's first build (its own thread, with OpenSSL's per-thread state) finish before fuzzing, so
        // its allocations are not charged to the first inputs.
        modelhost::http::Request models{bhttp::verb::get, "/v1/models", 11};
        models.set(bhttp::field::host, "x");
        while (made->handle(models, {true, false}).reply.result_int() != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return made;
    }();
    return *h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const modelhost::config::LimitsConfig limits;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    for (int requests = 0; requests < 8 && !rest.empty(); ++requests) {  // pipelined requests, as the session reads them
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(limits.max_body_bytes);
        parser.eager(false);
        std::uint64_t chunk_data = 0;
        auto count = [&chunk_data](std::uint64_t, std::string_view d, boost::beast::error_code&) {
            chunk_data += d.size();
            return d.size();
        };
        parser.on_chunk_body(count);
        bool in_body = false;
        boost::beast::error_code ec;
        while (!rest.empty() && !parser.is_done()) {
            std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
            FUZZ_CHECK(used <= rest.size());
            if (!in_body && modelhost::http::has_obs_fold(rest.substr(0, used))) return 0;  // refused: 400, close
            rest.remove_prefix(used);
            if (ec == bhttp::error::need_more) return 0;  // the session would read more
            if (ec) return 0;                             // refused: 4xx, close
            if (!in_body && parser.is_header_done()) {
                if (auto refused = handler().screen(parser.get())) {
                    FUZZ_CHECK(refused->reply.result_int() >= 400 && !refused->reply.keep_alive());
                    return 0;
                }
                in_body = true;
                parser.eager(true);
            }
            if (used == 0) return 0;
        }
        if (!parser.is_done()) return 0;
        FUZZ_CHECK(chunk_data <= limits.max_body_bytes);
        auto ex = handler().handle(parser.get(), {true, false});
        FUZZ_CHECK(ex.reply.result_int() >= 200 && ex.reply.result_int() < 600);
        if (!ex.reply.keep_alive()) return 0;
    }
    return 0;
}
