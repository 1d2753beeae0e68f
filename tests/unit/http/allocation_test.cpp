// Heap allocations on the hot path, counted: a revalidation (304) of a remembered file. The goal is none; this test
// holds the line where it stands (the CORS and Vary response fields are Beast fields, allocated per response) so
// that new per-request allocations are caught. Counts operator new in this test binary (per thread).
#include "catch.hpp"

#include "config/load.hpp"
#include "http/handler.hpp"
#include "http/reply.hpp"
#include "temp_dir.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++allocations;
    return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace modelhost;
namespace bhttp = boost::beast::http;

TEST_CASE("a 304 for a remembered file allocates only the CORS and Vary response fields", "[alloc]") {
    test::TempDir root;
    root.write("face_mesh/1/model.json", std::string(100000, ' '));  // above the in-memory size: an open descriptor
    config::LoadInput in;
    in.file = root.write("modelhost.json", R"({"log": {"access_log": false}})").string();
    in.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    in.flags = {{"--root", root.path().string()}};
    http::Handler handler(config::load(in));
    int pass_ends = 0;
    handler.set_pass_end([&] { ++pass_ends; });  // nothing ends the pass: every lookup is remembered

    http::Request req{bhttp::verb::get, "/face_mesh/1/model.json", 11};
    req.set(bhttp::field::host, "models.example");
    req.set(bhttp::field::user_agent, "allocation-test");
    auto first = handler.handle(req, {});
    REQUIRE(first.reply.result() == bhttp::status::ok);
    req.set(bhttp::field::if_none_match, first.reply.representation->etag);
    REQUIRE(handler.handle(req, {}).reply.result() == bhttp::status::not_modified);  // warm: header blocks built

    constexpr int requests = 200;
    int not_modified = 0;
    allocations = 0;
    for (int i = 0; i < requests; ++i)  // no test macro inside: they allocate
        not_modified += handler.handle(req, {}).reply.result() == bhttp::status::not_modified;
    const double per_request = static_cast<double>(allocations) / requests;
    CHECK(not_modified == requests);
    INFO("allocations per 304: " << per_request);
    CHECK(per_request <= 3.05);  // Access-Control-Allow-Origin, Access-Control-Expose-Headers, Vary
    CHECK(pass_ends == 1);
}
