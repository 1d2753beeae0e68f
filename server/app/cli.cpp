// The one binary's commands.
#include "app/cli.hpp"

#include "app/serve.hpp"
#include "tools/check.hpp"
#include "tools/compress.hpp"
#include "tools/doctor.hpp"
#include "tools/fetch.hpp"
#include "tools/health.hpp"
#include "tools/reload.hpp"
#include "version.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace modelhost::app {

namespace {

using Args = std::vector<std::string>;

// One row per command: what dispatches it and what --help says of it.
struct Command {
    const char* name;
    int (*run)(const Args&);
    const char* summary;
};

int serve_command(const Args& args) { return serve(args); }

const std::vector<Command>& commands() {
    static const std::vector<Command> table{
        {"serve", serve_command, "run the server (the default when no command is given)"},
        {"check", tools::check_command, "validate every TF.js model under a folder (`modelhost check --help`)"},
        {"compress", tools::compress_command,
         "write .br and .gz sidecars beside compressible files (`modelhost compress --help`)"},
        {"doctor", tools::doctor_command, "say whether a browser at an origin would accept a URL (`modelhost doctor --help`)"},
        {"fetch", tools::fetch_command,
         "mirror a remote TF.js model into the root, verified and atomic (`modelhost fetch --help`)"},
        {"health", tools::health_command,
         "probe a running server's liveness endpoint, for HEALTHCHECK (`modelhost health --help`)"},
        {"reload", tools::reload_command,
         "make the running server read its configuration again (`modelhost reload --help`)"},
    };
    return table;
}

void print_help() {
    std::printf("modelhost %s — serves TensorFlow.js / MediaPipe model files with correct CORS and caching\n\n"
                "Usage: modelhost [COMMAND] [OPTIONS]\n\nCommands:\n",
                version);
    for (const auto& c : commands()) std::printf("  %-9s %s\n", c.name, c.summary);
    std::printf("\nOptions:\n"
                "  -h, --help         show this help (`modelhost serve --help` for the server's options)\n"
                "  -v, -V, --version  print the version\n\n"
                "Exit codes: 0 ok, 1 a problem was found, 2 bad usage or bad configuration.\n");
}

}  // namespace

int main(int argc, char** argv) {
    Args args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--version" || args[0] == "-V" || args[0] == "-v")) {
        std::printf("modelhost %s\n", version);
        return 0;
    }
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
        print_help();
        return 0;
    }
    if (args.empty() || args[0].starts_with("-")) return serve(args);
    for (const auto& c : commands())
        if (args[0] == c.name) return c.run({args.begin() + 1, args.end()});
    std::fprintf(stderr, "modelhost: unknown command \"%s\"; run `modelhost --help` for the commands\n", args[0].c_str());
    return 2;
}

}  // namespace modelhost::app
