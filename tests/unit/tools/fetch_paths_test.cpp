// Which weightsManifest paths fetch may write: relative plain names only, before and after percent-decoding.
#include "catch.hpp"

#include "tools/fetch.hpp"

#include <string>

using modelhost::tools::unsafe_shard_path;

TEST_CASE("ordinary shard names, nested folders and escaped spaces are allowed", "[fetch]") {
    for (const char* ok : {"group1-shard1of2.bin", "weights/group1-shard1of1", "a%20b.bin", "facemesh.bin", "model.weights.bin"}) {
        INFO(ok);
        CHECK(unsafe_shard_path(ok).empty());
    }
}

TEST_CASE("paths that could leave the folder, hide, or be active content are refused with a reason", "[fetch]") {
    struct Case {
        std::string path, reason;
    };
    for (const Case& c : {Case{"", "empty"}, Case{"/etc/passwd", "absolute"}, Case{"../x", "\"..\""}, Case{"a/./b", "\".\""},
                          Case{"a//b", "empty"}, Case{"%2e%2e/x", "\"..\""}, Case{"%2F%2fx", "absolute"}, Case{"a%2f..%2fb", "\"..\""},
                          Case{"a\\b", "backslash"}, Case{"a%5cb", "backslash"}, Case{".git/config", "hidden"}, Case{"%2ehidden", "hidden"},
                          Case{"x.bin?token=1", "query"}, Case{"x#f", "fragment"}, Case{"%zz", "malformed"}, Case{"a%2", "malformed"},
                          Case{std::string("a\0b", 3), "NUL"}, Case{"a%00b", "NUL"}, Case{"a\tb", "control"},
                          Case{"c:/x", "colon"}, Case{"https://evil.example/x", "colon"},
                          Case{"index.html", "active content"}, Case{"x.svg", "active content"}, Case{"x.js", "active content"},
                          Case{"x.mjs", "active content"}, Case{"x.HTM", "active content"}}) {
        INFO(c.path);
        CHECK_THAT(unsafe_shard_path(c.path), Catch::Contains(c.reason));
    }
}
