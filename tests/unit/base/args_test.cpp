// The command-line reader every command shares: the same answer to the same mistake everywhere.
#include "catch.hpp"

#include "base/args.hpp"

using namespace modelhost;

namespace {

ParsedArgs parse(const std::vector<std::string>& args) {
    return parse_args("fetch", args, {{"--root", true}, {"--force", false}, {"--header", true}}, 1);
}

}  // namespace

TEST_CASE("values come as --name VALUE or --name=VALUE, switches bare, positionals in order", "[args]") {
    auto p = parse({"https://x/model.json", "--root", "models", "--force", "--header=Range", "--header", "X-A"});
    CHECK(p.error.empty());
    CHECK(p.positionals == std::vector<std::string>{"https://x/model.json"});
    CHECK(p.value("--root") == std::optional<std::string>("models"));
    CHECK(p.has("--force"));
    CHECK(p.values("--header") == std::vector<std::string>{"Range", "X-A"});
    CHECK_FALSE(p.value("--name"));
}

TEST_CASE("an unknown option, a missing value, a value on a switch and an extra argument are named", "[args]") {
    CHECK(parse({"--verbose"}).error == "unknown option --verbose (see modelhost fetch --help)");
    CHECK(parse({"--versio"}).error == "unknown option --versio (see modelhost fetch --help)");
    CHECK(parse({"-v"}).error == "unknown option -v (see modelhost fetch --help)");
    CHECK(parse({"--root"}).error == "--root needs a value (see modelhost fetch --help)");
    CHECK(parse({"--root", "--force"}).error == "--root needs a value (see modelhost fetch --help)");
    CHECK(parse({"--force=yes"}).error == "--force takes no value (see modelhost fetch --help)");
    CHECK(parse({"a", "b"}).error == "unexpected argument \"b\" (see modelhost fetch --help)");
}

TEST_CASE("-h and --help are understood anywhere", "[args]") {
    CHECK(parse({"x", "-h"}).help);
    CHECK(parse({"--help"}).help);
    CHECK(parse({"--root", "r", "--help"}).error.empty());
}
