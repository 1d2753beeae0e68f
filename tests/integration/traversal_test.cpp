// No request, however encoded, reads a byte from outside the root; symlinks out of the root are refused.
#include "catch.hpp"

#include "http_client.hpp"

#include <filesystem>

using namespace modelhost::test;

TEST_CASE("traversal payloads and outward symlinks never return bytes from outside the root", "[traversal]") {
    TempDir top;
    const std::string secret = "TOP-SECRET-OUTSIDE-ROOT";
    top.write("secret.txt", secret);
    top.write("root/demo/model.json", "{\"inside\":true}");
    top.write("root-sibling/x.txt", secret);
    auto root = top.path() / "root";
    std::filesystem::create_symlink(top.path() / "secret.txt", root / "leak.txt");
    std::filesystem::create_symlink("../secret.txt", root / "relative-leak.txt");
    std::filesystem::create_directory_symlink(top.path(), root / "up");
    std::filesystem::create_symlink("/etc/passwd", root / "passwd");
    std::filesystem::create_symlink("demo/model.json", root / "alias.json");  // stays inside: allowed
    TestServer s(root);

    const std::vector<std::string> payloads{
        "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt",
        "/demo/../../secret.txt", "/demo/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt", "/%c0%ae%c0%ae/secret.txt",
        "/%252e%252e/secret.txt", "/..;/secret.txt", "/../root-sibling/x.txt", "/leak.txt", "/relative-leak.txt",
        "/up/secret.txt", "/up/root/demo/model.json", "/passwd", "http://127.0.0.1/../secret.txt",
        "/demo/model.json%00", "//../secret.txt", "/./../secret.txt", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    };
    for (const auto& p : payloads) {
        INFO(p);
        auto r = request(s.port(), "GET", p);
        CHECK((r.result_int() == 400 || r.result_int() == 404));
        CHECK(r.body().find(secret) == std::string::npos);
        CHECK(r.body().find("root:") == std::string::npos);
    }
    auto alias = request(s.port(), "GET", "/alias.json");
    CHECK(alias.result_int() == 200);
    CHECK(alias.body() == "{\"inside\":true}");
}
