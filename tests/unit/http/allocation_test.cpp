// Heap allocations on the hot path, counted: a revalidation (304) and a small file's 200, both of remembered files.
// The goal is none; this test holds the line where it stands (a Vary field is a Beast field, allocated per response)
// so that new per-request allocations are caught. Counts operator new in this test binary (per thread).
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

namespace {

// The allocations per handle() call of `req`, over 200 calls after two warm-up calls (header blocks built). Every
// answer must have `expected` as its status.
double allocations_per_request(const http::Handler& handler, const http::Request& req, bhttp::status expected) {
    REQUIRE(handler.handle(req, {}).reply.result() == expected);
    REQUIRE(handler.handle(req, {}).reply.result() == expected);
    constexpr int requests = 200;
    int answered = 0;
    allocations = 0;
    for (int i = 0; i < requests; ++i)  // no test macro inside: they allocate
        answered += handler.handle(req, {}).reply.result() == expected;
    const double per_request = static_cast<double>(allocations) / requests;
    CHECK(answered == requests);
    return per_request;
}

}  // namespace

TEST_CASE("a 304 or a small file's 200 from remembered files allocate nothing but a Vary field", "[alloc]") {
    test::TempDir root;
    root.write("face_mesh/1/model.json", std::string(100000, ' '));  // above the in-memory size: an open descriptor
    root.write("face_mesh/1/group1-shard1of1.bin", std::string(1024, 'w'));  // in memory
    config::LoadInput in;
    in.file = root.write("modelhost.json", R"({"log": {"access_log": false}})").string();
    in.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    in.flags = {{"--root", root.path().string()}};
    http::Handler handler(config::load(in));
    int pass_ends = 0;
    handler.set_pass_end([&] { ++pass_ends; return true; });  // nothing ends the pass: every lookup is remembered

    http::Request req{bhttp::verb::get, "/face_mesh/1/model.json", 11};
    req.set(bhttp::field::host, "models.example");
    req.set(bhttp::field::user_agent, "allocation-test");
    auto first = handler.handle(req, {});
    REQUIRE(first.reply.result() == bhttp::status::ok);
    req.set(bhttp::field::if_none_match, first.reply.representation->etag);
    const double per_304 = allocations_per_request(handler, req, bhttp::status::not_modified);
    INFO("allocations per 304: " << per_304);
    // Vary: Accept-Encoding (model.json is compressible). Access-Control-Allow-Origin and -Expose-Headers (the
    // default wildcard) and Content-Length are written from pre-built lines and a number, not Beast fields.
    CHECK(per_304 <= 1.05);

    http::Request shard{bhttp::verb::get, "/face_mesh/1/group1-shard1of1.bin", 11};
    shard.set(bhttp::field::host, "models.example");
    const double per_200 = allocations_per_request(handler, shard, bhttp::status::ok);
    INFO("allocations per 1 KB 200: " << per_200);
    CHECK(per_200 <= 0.05);
    CHECK(pass_ends == 1);
    handler.end_pass();  // (the pass is this thread's: none is left open for the next test)
}
