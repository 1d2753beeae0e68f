// app [--config FILE] [FOLDER]: serves the demo model compiled into it at /models/demo/ and FOLDER (if given) at
// /models/, with the options of FILE (modelhost's config format) or the library's defaults. Prints "serving URL",
// answers until SIGTERM or SIGINT, then lets requests in progress finish (up to 5 s) and exits 0.
#include <modelhost/modelhost.hpp>
#include <modelhost_assets/demo.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    // The signals are the app's: blocked before any thread starts (the server's inherit the mask), then awaited.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    try {
        int arg = 1;
        modelhost::Options options;
        if (arg + 1 < argc && std::strcmp(argv[arg], "--config") == 0) {
            options = modelhost::Options::from_file(argv[arg + 1]);
            arg += 2;
        }
        modelhost::Server server(options);
        server.mount("/models/demo/", modelhost_assets::demo());
        if (arg < argc) server.mount("/models/", argv[arg]);
        server.on_log([](modelhost::LogLevel, std::string_view line) {
            std::fprintf(stderr, "app: %.*s\n", static_cast<int>(line.size()), line.data());
        });
        server.start();
        std::printf("serving %s\n", server.url().c_str());
        std::fflush(stdout);
        int signal = 0;
        sigwait(&stop_signals, &signal);
        server.stop(std::chrono::seconds(5));
        server.wait();
        return 0;
    } catch (const modelhost::Error& e) {
        std::fprintf(stderr, "app: %s\n", e.what());
        return 1;
    }
}
