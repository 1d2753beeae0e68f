// http_download's 206 against a canned upstream: the body must be exactly the Content-Range asked for, however it is
// framed (fuzz_client_response found a chunked or close-delimited body of another length appended as if it were).
#include "catch.hpp"

#include "canned_server.hpp"
#include "client/http_client.hpp"
#include "temp_dir.hpp"

using namespace modelhost::test;
namespace client = modelhost::client;

namespace {

// Resumes a 20-byte file kept up to byte 10 from a server answering `response`; returns the file afterwards.
std::string resume_with(const std::string& response, bool& refused) {
    CannedServer up({}, response);
    TempDir dir;
    auto path = dir.write("part", "0123456789");
    client::DownloadTarget target;
    target.path = path.string();
    target.max_bytes = 100;
    target.have = 10;
    target.if_range = "\"v1\"";
    refused = false;
    try {
        client::http_download(*client::parse_http_url(up.base() + "/m/a.bin"), target);
    } catch (const client::HttpError& e) {
        CHECK_THAT(e.what(), Catch::Contains("the 206 body is not the 10 bytes its Content-Range declares"));
        refused = true;
    }
    return read_file(path);
}

const std::string partial = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-19/20\r\n";

}  // namespace

TEST_CASE("a 206 whose body is the Content-Range asked for is appended, chunked or up to the close", "[client]") {
    bool refused = true;
    CHECK(resume_with(partial + "Transfer-Encoding: chunked\r\n\r\na\r\nabcdefghij\r\n0\r\n\r\n", refused) == "0123456789abcdefghij");
    CHECK_FALSE(refused);
    CHECK(resume_with(partial + "Connection: close\r\n\r\nabcdefghij", refused) == "0123456789abcdefghij");
    CHECK_FALSE(refused);
}

TEST_CASE("a 206 body longer or shorter than its Content-Range is refused, nothing past the range written", "[client]") {
    bool refused = false;
    // An unknown transfer coding: the body runs to the close (20 bytes for a range of 10).
    auto longer = resume_with(partial + "Transfer-Encoding: chunkgd\r\n\r\na\r\nabcdefghij\r\n0\r\n\r\n", refused);
    CHECK(refused);
    CHECK(longer.size() <= 20);
    CHECK(longer.starts_with("0123456789"));
    resume_with(partial + "Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n", refused);
    CHECK(refused);
    resume_with(partial + "Connection: close\r\n\r\nabc", refused);
    CHECK(refused);
}
