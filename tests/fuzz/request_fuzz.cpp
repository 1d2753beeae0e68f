// Raw request bytes through the session's own parse step (net::RequestReader: Beast's limits, obs-fold refused,
// framing screened by the handler, chunk lines and trailers bounded, chunk data dropped) and Handler::handle on a
// real root, the bytes arriving in pieces as reads would deliver them: every request is answered or refused, the
// buffer never holds more than max_header_bytes plus one piece, and nothing throws.
#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "http/handler.hpp"
#include "net/request_reader.hpp"

#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <chrono>
#include <cstring>
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
    if (size < 1) return 0;
    modelhost::config::LimitsConfig limits;
    limits.max_header_bytes = 2048;  // small, so the bounds are reached often
    limits.max_body_bytes = 4096;
    const std::size_t piece = 1 + data[0] % 64;  // bytes per "read"
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    modelhost::net::RequestReader reader(limits);
    boost::beast::flat_buffer buffer;
    for (int requests = 0; requests < 8; ++requests) {  // pipelined requests, as the session reads them
        reader.start();
        auto step = reader.feed(buffer, handler());
        while (step == modelhost::net::RequestReader::Step::need_more && !rest.empty()) {
            auto n = std::min(piece, rest.size());
            auto dst = buffer.prepare(n);
            std::memcpy(dst.data(), rest.data(), n);
            buffer.commit(n);
            rest.remove_prefix(n);
            FUZZ_CHECK(buffer.size() <= limits.max_header_bytes + piece);
            step = reader.feed(buffer, handler());
        }
        using Step = modelhost::net::RequestReader::Step;
        if (step == Step::refused) {
            auto ex = reader.take_refusal();
            FUZZ_CHECK((ex.reply.result_int() == 400 || ex.reply.result_int() == 501) && !ex.reply.keep_alive());
            return 0;
        }
        if (step == Step::failed) {
            auto answer = handler().read_failed(reader.failure(), true, reader.request(), reader.detail());
            FUZZ_CHECK(!answer || (answer->reply.result_int() >= 400 && !answer->reply.keep_alive()));
            return 0;
        }
        if (step != Step::complete) return 0;  // the bytes ran out: the session would wait for more
        auto ex = handler().handle(reader.request(), {true, false});
        FUZZ_CHECK(ex.reply.result_int() >= 200 && ex.reply.result_int() < 600);
        if (!ex.reply.keep_alive()) return 0;
    }
    return 0;
}
