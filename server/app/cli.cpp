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

void print_help() {
    std::printf(
        "modelhost %s — serves TensorFlow.js / MediaPipe model files with correct CORS and caching\n\n"
        "Usage: modelhost [COMMAND] [OPTIONS]\n\n"
        "Commands:\n"
        "  serve     run the server (the default when no command is given)\n"
        "  check     validate every TF.js model under a folder (`modelhost check --help`)\n"
        "  compress  write .br and .gz sidecars beside compressible files (`modelhost compress --help`)\n"
        "  doctor    say whether a browser at an origin would accept a URL (`modelhost doctor --help`)\n"
        "  fetch     mirror a remote TF.js model into the root, verified and atomic (`modelhost fetch --help`)\n"
        "  health    probe a running server's liveness endpoint, for HEALTHCHECK (`modelhost health --help`)\n"
        "  reload    make the running server read its configuration again (`modelhost reload --help`)\n\n"
        "Options:\n"
        "  -h, --help         show this help (`modelhost serve --help` for the server's options)\n"
        "  -v, -V, --version  print the version\n\n"
        "Exit codes: 0 ok, 1 a problem was found, 2 bad usage or bad configuration.\n",
        version);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--version" || args[0] == "-V" || args[0] == "-v")) {
        std::printf("modelhost %s\n", version);
        return 0;
    }
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
        print_help();
        return 0;
    }
    if (args.empty() || args[0].starts_with("-")) return serve(args);
    if (args[0] == "serve") return serve({args.begin() + 1, args.end()});
    if (args[0] == "doctor") return tools::doctor_command({args.begin() + 1, args.end()});
    if (args[0] == "fetch") return tools::fetch_command({args.begin() + 1, args.end()});
    if (args[0] == "health") return tools::health_command({args.begin() + 1, args.end()});
    if (args[0] == "reload") return tools::reload_command({args.begin() + 1, args.end()});
    if (args[0] == "check") return tools::check_command({args.begin() + 1, args.end()});
    if (args[0] == "compress") return tools::compress_command({args.begin() + 1, args.end()});
    std::fprintf(stderr, "modelhost: unknown command \"%s\"; run `modelhost --help` for the commands\n", args[0].c_str());
    return 2;
}

}  // namespace modelhost::app
